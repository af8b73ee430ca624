"""ListECRRepositories through a real MCP client against the testbed."""

from account import calls, client, deny, omics_pull, policy
from mcp_harness import call

TOOL = "ListECRRepositories"


def make_repos(ecr, names, accessible=()):
    for name in names:
        ecr.create_repository(repositoryName=name)
        if name in accessible:
            ecr.set_repository_policy(repositoryName=name, policyText=policy(omics_pull()))


async def list_all(session, **args):
    """Follows next_token to the end; returns the pages."""
    pages, token = [], None
    while True:
        is_error, out, text = await call(session, TOOL, {**args, **({"next_token": token} if token else {})})
        assert not is_error, text
        pages.append(out)
        token = out.get("next_token")
        if not token:
            return pages
        assert len(pages) < 50, "pagination does not end"


async def test_pages_are_exact_and_complete(mcp_client, ecr):
    names = [f"repo-{i}" for i in range(7)]
    make_repos(ecr, names)
    async with mcp_client() as server:
        pages = await list_all(server.session, max_results=3)
    assert [p["total_count"] for p in pages] == [3, 3, 1]
    seen = [r["repository_name"] for p in pages for r in p["repositories"]]
    assert sorted(seen) == sorted(names)


async def test_filter_keeps_reading_until_the_page_is_full(mcp_client, ecr, admin):
    names = [f"app-{i:02d}" for i in range(12)]
    accessible = {names[1], names[6], names[11]}
    make_repos(ecr, names, accessible)
    async with mcp_client() as server:
        pages = await list_all(server.session, max_results=2, filter_healthomics_accessible=True)
    # No short page followed by a token, no empty page, nothing repeated or lost.
    assert [p["total_count"] for p in pages] == [2, 1]
    assert "next_token" not in pages[-1]
    seen = [r["repository_name"] for p in pages for r in p["repositories"]]
    assert sorted(seen) == sorted(accessible)
    assert all(r["healthomics_accessible"] == "accessible" for p in pages for r in p["repositories"])


async def test_verdicts_follow_iam_rules(mcp_client, ecr, admin):
    make_repos(ecr, ["none", "good", "denied", "conditional", "partial", "broken"])
    ecr.set_repository_policy(repositoryName="good", policyText=policy(omics_pull()))
    ecr.set_repository_policy(
        repositoryName="denied",
        policyText=policy(
            omics_pull(),
            {"Sid": "NoPull", "Effect": "Deny", "Principal": "*", "Action": "ecr:BatchGetImage"},
        ),
    )
    ecr.set_repository_policy(
        repositoryName="conditional",
        policyText=policy(omics_pull(Condition={"StringEquals": {"aws:SourceAccount": "111122223333"}})),
    )
    # The Python server's two actions: BatchCheckLayerAvailability is missing.
    ecr.set_repository_policy(
        repositoryName="partial",
        policyText=policy(omics_pull(actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"])),
    )
    admin("raw-repository-policy", {"repositoryName": "broken", "policyText": "{not json"})
    async with mcp_client() as server:
        is_error, out, text = await call(server.session, TOOL)
        stderr = server.stderr()
    assert not is_error, text
    by_name = {r["repository_name"]: r for r in out["repositories"]}
    assert by_name["good"]["healthomics_accessible"] == "accessible"
    assert "missing_permissions" not in by_name["good"] and "access" not in by_name["good"]
    assert by_name["none"]["healthomics_accessible"] == "not_accessible"
    assert by_name["none"]["why"] == "no policy" and "missing_permissions" not in by_name["none"]
    assert by_name["denied"]["healthomics_accessible"] == "not_accessible"
    assert "NoPull" in by_name["denied"]["why"], by_name["denied"]
    assert out["counts"] == {"accessible": 1, "not_accessible": 3, "conditional": 1, "unknown": 1}, out["counts"]
    assert out["message"].startswith("6 repositories: 1 HealthOmics can pull"), out["message"]
    # The per-action detail (which statement decided each action) comes with detail=true.
    async with mcp_client() as server:
        _, detailed, _ = await call(server.session, TOOL, {"detail": True})
    rows = {r["repository_name"]: r for r in detailed["repositories"]}
    denied = {a["action"]: a for a in rows["denied"]["access"]["actions"]}
    assert denied["ecr:BatchGetImage"]["verdict"] == "denied"
    assert denied["ecr:BatchGetImage"]["decided_by"] == "NoPull"
    assert by_name["conditional"]["healthomics_accessible"] == "conditional"
    assert by_name["partial"]["why"].startswith("not granted: ecr:BatchCheckLayerAvailability"), by_name["partial"]
    assert rows["partial"]["missing_permissions"] == ["ecr:BatchCheckLayerAvailability"]
    assert by_name["broken"]["healthomics_accessible"] == "unknown"
    assert "not a valid IAM policy" in by_name["broken"]["policy_problem"]
    # Repositories without a policy are an ordinary case: no log noise.
    ours = [line for line in stderr.splitlines() if "healthomics_ecr_mcp" in line]
    assert not [line for line in ours if " WARN " in line or " ERROR " in line]
    assert "RepositoryPolicyNotFound" not in stderr


async def test_repositories_under_a_cache_prefix_are_marked(mcp_client, ecr):
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    make_repos(ecr, ["quay/biocontainers/samtools", "quay", "quayside/tool"])
    async with mcp_client() as server:
        _, out, _ = await call(server.session, TOOL)
    by_name = {r["repository_name"]: r.get("pull_through_cache_prefix") for r in out["repositories"]}
    assert by_name == {"quay/biocontainers/samtools": "quay", "quay": None, "quayside/tool": None}


async def test_denied_policy_read_is_unknown_not_missing(mcp_client, ecr, admin):
    make_repos(ecr, ["app"])
    deny(admin, "ecr", "GetRepositoryPolicy", "not allowed")
    async with mcp_client() as server:
        _, out, _ = await call(server.session, TOOL)
    repo = out["repositories"][0]
    assert repo["healthomics_accessible"] == "unknown"
    assert "ecr:GetRepositoryPolicy" in repo["policy_problem"]


async def test_denied_listing_is_a_tool_error_naming_the_action(mcp_client, admin):
    deny(admin, "ecr", "DescribeRepositories", "User is not authorized")
    async with mcp_client() as server:
        is_error, out, text = await call(server.session, TOOL)
    assert is_error
    assert out["error"]["code"] == "access_denied"
    assert "`ecr:DescribeRepositories`" in out["error"]["remediation"]
    assert out["error"]["aws_error_code"] == "AccessDeniedException"
    assert "ecr:DescribeRepositories" in text


async def test_throttling_is_retried_with_backoff(mcp_client, ecr, admin):
    make_repos(ecr, ["app", "base"])
    admin("faults", {"service": "ecr", "operation": "DescribeRepositories", "count": 2, "kind": "throttle"})
    async with mcp_client(env={"AWS_MAX_ATTEMPTS": "3"}) as server:
        is_error, out, text = await call(server.session, TOOL)
    assert not is_error, text
    assert out["total_count"] == 2
    assert calls(admin)["DescribeRepositories"] == 3


async def test_bad_arguments_change_nothing_and_say_what_to_fix(mcp_client, admin):
    async with mcp_client() as server:
        is_error, out, _ = await call(server.session, TOOL, {"max_results": 0})
        assert is_error and out["error"]["code"] == "invalid_input"
        assert "1 and 1000" in out["error"]["message"]
        is_error, out, _ = await call(server.session, TOOL, {"next_token": "hoemcp1.zz"})
        assert is_error and out["error"]["code"] == "invalid_input"
    assert calls(admin).get("DescribeRepositories", 0) == 0


async def test_per_call_region_is_used(mcp_client, testbed):
    west = client(testbed, "ecr", region="us-west-2")
    west.create_repository(repositoryName="west-only")
    async with mcp_client() as server:
        _, default_region, _ = await call(server.session, TOOL)
        _, other, _ = await call(server.session, TOOL, {"aws_region": "us-west-2"})
    assert default_region["region"] == "us-east-1" and default_region["repositories"] == []
    assert other["region"] == "us-west-2"
    assert [r["repository_name"] for r in other["repositories"]] == ["west-only"]
    assert ".dkr.ecr.us-west-2." in other["registry"]
