"""Repository policies read under ECR throttling: the answer is the one an unthrottled account gives.

The server reads policies with a window of reads in flight that halves on each ThrottlingException and reads a
throttled repository again later, instead of reporting its verdict as `unknown`. The hermetic environment sets
AWS_MAX_ATTEMPTS=1, so the SDK retries nothing and every injected throttle reaches that code.
"""

from account import calls, omics_pull, policy
from mcp_harness import call

TOOL = "ListECRRepositories"
REPOSITORIES = 24
THROTTLES = 12


def seed(ecr) -> None:
    for i in range(REPOSITORIES):
        name = f"throttle/repo-{i:02d}"
        ecr.create_repository(repositoryName=name)
        if i % 3:
            ecr.set_repository_policy(repositoryName=name, policyText=policy(omics_pull()))


def throttle_policy_reads(admin, count: int) -> None:
    admin("faults", {"service": "ecr", "operation": "GetRepositoryPolicy", "kind": "throttle", "count": count})


async def test_list_is_identical_under_throttled_policy_reads(mcp_client, ecr, admin):
    seed(ecr)
    async with mcp_client() as server:
        is_error, calm, text = await call(server.session, TOOL, {"detail": True})
        assert not is_error, text
        admin("calls/reset")
        throttle_policy_reads(admin, THROTTLES)
        is_error, throttled, text = await call(server.session, TOOL, {"detail": True})
    assert not is_error, text
    assert admin("faults")["faults"] == [], "every injected throttle was met"
    assert calls(admin)["GetRepositoryPolicy"] == REPOSITORIES + THROTTLES, "each throttled read was made again"
    assert throttled["repositories"] == calm["repositories"]
    assert not any(r["healthomics_accessible"] == "unknown" for r in throttled["repositories"])


async def test_validate_is_identical_under_throttled_policy_reads(mcp_client, ecr, admin):
    seed(ecr)
    async with mcp_client() as server:
        is_error, calm, text = await call(server.session, "ValidateHealthOmicsECRConfig", {"detail": True})
        assert not is_error, text
        throttle_policy_reads(admin, THROTTLES)
        is_error, throttled, text = await call(server.session, "ValidateHealthOmicsECRConfig", {"detail": True})
    assert not is_error, text
    assert admin("faults")["faults"] == []
    assert throttled == calm


async def test_a_read_throttled_past_its_retries_is_reported_unknown(mcp_client, ecr, admin):
    """With one repository the window is never shared: its read is made five times, then given up as throttled."""
    ecr.create_repository(repositoryName="throttle/only")
    throttle_policy_reads(admin, 10)
    async with mcp_client() as server:
        is_error, out, text = await call(server.session, TOOL, {"detail": True})
    assert not is_error, text
    assert calls(admin)["GetRepositoryPolicy"] == 5
    (repo,) = out["repositories"]
    assert repo["healthomics_accessible"] == "unknown"
