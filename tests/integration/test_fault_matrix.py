"""The fault matrix: every AWS and registry step of each mutating tool, under each kind of failure, from tables.

For each (tool, step) the testbed fails the first call of that operation with: AccessDenied; throttling once
(then success, with the SDK's retries on); a 5xx; or a stall past the server's timeout. Each case asserts what
the tool says and what the account holds afterwards:
- a fatal step fails the call with the matching error code and no write that comes after it is attempted; a
  failure after a write is a `partial_failure` that lists what was done;
- a step whose failure the tool can work around (credential validation, the cache lookup of a clone) still
  succeeds and says what it could not do;
- throttling once is absorbed by retries and the call succeeds, verified.
"""

from dataclasses import dataclass

import pytest
from account import calls
from mcp_harness import call

GRANT = "GrantHealthOmicsRepositoryAccess"
PTC = "CreatePullThroughCacheForHealthOmics"
CLONE = "CloneContainerToECR"
ARGS = {
    GRANT: {"repository_name": "tools/bwa"},
    PTC: {"upstream_registry": "github", "username": "u", "access_token": "ghp_MATRIX_SECRET"},
    CLONE: {"source_image": "community.wave.seqera.io/test/amd64:1"},
}
# The writes of each tool, in the order it makes them.
WRITES = {
    GRANT: [("ecr", "SetRepositoryPolicy")],
    PTC: [
        ("secretsmanager", "CreateSecret"),
        ("ecr", "CreatePullThroughCacheRule"),
        ("ecr", "PutRegistryPolicy"),
        ("ecr", "CreateRepositoryCreationTemplate"),
    ],
    CLONE: [("ecr", "CreateRepository"), ("ecr", "SetRepositoryPolicy"), ("registry", "PutManifest")],
}


@dataclass(frozen=True)
class Step:
    tool: str
    service: str
    operation: str
    fatal: bool = True  # False: the tool works around a failure of this step


STEPS = [
    Step(GRANT, "sts", "GetCallerIdentity"),
    Step(GRANT, "ecr", "GetRepositoryPolicy"),
    Step(GRANT, "ecr", "SetRepositoryPolicy"),
    Step(PTC, "sts", "GetCallerIdentity"),
    Step(PTC, "secretsmanager", "DescribeSecret"),
    Step(PTC, "secretsmanager", "CreateSecret"),
    Step(PTC, "ecr", "DescribePullThroughCacheRules"),
    Step(PTC, "ecr", "CreatePullThroughCacheRule"),
    Step(PTC, "ecr", "GetRegistryPolicy"),
    Step(PTC, "ecr", "PutRegistryPolicy"),
    Step(PTC, "ecr", "DescribeRepositoryCreationTemplates"),
    Step(PTC, "ecr", "CreateRepositoryCreationTemplate"),
    Step(PTC, "ecr", "ValidatePullThroughCacheRule", fatal=False),
    Step(CLONE, "sts", "GetCallerIdentity"),
    Step(CLONE, "ecr", "DescribePullThroughCacheRules", fatal=False),
    Step(CLONE, "ecr", "DescribeRepositories"),
    Step(CLONE, "ecr", "CreateRepository"),
    Step(CLONE, "ecr", "GetRepositoryPolicy"),
    Step(CLONE, "ecr", "SetRepositoryPolicy"),
    Step(CLONE, "ecr", "GetAuthorizationToken"),
    Step(CLONE, "ecr", "DescribeImages"),
]

# kind → (fault spec, extra server args, environment, error codes a fatal step may end with)
FAULTS = {
    "access_denied": (
        {"kind": "error", "error_code": "AccessDeniedException", "message": "not authorized"},
        [],
        {},
        {"access_denied", "partial_failure"},
    ),
    "throttled_then_ok": ({"kind": "throttle"}, [], {"AWS_MAX_ATTEMPTS": "3"}, set()),
    "server_error": (
        {"kind": "error", "error_code": "ServerException", "http_status": 500, "message": "internal"},
        [],
        {},
        {"aws_error", "partial_failure", "verification_failed"},
    ),
    "stall_past_timeout": (
        {"kind": "stall", "stall_seconds": 4},
        ["--aws-timeout", "2", "--aws-attempt-timeout", "1"],
        {},
        {"timeout", "partial_failure", "verification_failed"},
    ),
}

CASES = [(step, kind) for step in STEPS for kind in FAULTS]


def case_id(case):
    step, kind = case
    return f"{step.tool.removesuffix('ForHealthOmics')}-{step.service}.{step.operation}-{kind}"


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
async def test_fault(mcp_client, admin, ecr, case):
    step, kind = case
    spec, server_args, env, fatal_codes = FAULTS[kind]
    if step.tool == GRANT:
        ecr.create_repository(repositoryName="tools/bwa")
    admin("calls/reset")
    admin("faults", {"service": step.service, "operation": step.operation, "count": 1, **spec})
    async with mcp_client(*server_args, env=env) as server:
        is_error, out, text = await call(server.session, step.tool, ARGS[step.tool])
    assert "ghp_MATRIX_SECRET" not in text
    made = {service: calls(admin, service) for service in ("ecr", "secretsmanager", "registry")}

    if kind == "throttled_then_ok" or not step.fatal:
        assert not is_error, text
        assert out["success"] is True
        if not step.fatal and kind != "throttled_then_ok":
            assert out["notes"], "a step worked around is reported"
        return

    assert is_error, f"{kind} at {step.operation} was not reported: {text}"
    error = out["error"]
    assert error["code"] in fatal_codes, error
    if error["code"] == "partial_failure":
        assert error["details"]["completed"], "a partial failure lists what it had done"
    if kind == "stall_past_timeout":
        assert "may still have reached AWS" in error["remediation"] or error["code"] != "timeout"
    # No write after the failed step was attempted.
    writes = WRITES[step.tool]
    failed_at = next((i for i, w in enumerate(writes) if w == (step.service, step.operation)), None)
    later = writes[failed_at + 1 :] if failed_at is not None else writes if _before_writes(step) else []
    for service, operation in later:
        assert made[service].get(operation, 0) == 0, f"{operation} was called after {step.operation} failed"


def _before_writes(step: Step) -> bool:
    """Steps that come before a tool's first write (reads of the plan)."""
    reads_before = {
        GRANT: {"GetCallerIdentity", "GetRepositoryPolicy"},
        PTC: {
            "GetCallerIdentity",
            "DescribeSecret",
            "DescribePullThroughCacheRules",
            "GetRegistryPolicy",
            "DescribeRepositoryCreationTemplates",
        },
        CLONE: {"GetCallerIdentity", "DescribeRepositories"},
    }
    return step.operation in reads_before[step.tool]


# The ECR registry endpoint's steps of a native copy. Registry requests are retried (429, 5xx) and a failed
# upload is sent again in a new session, so one throttle or one 5xx is absorbed; a refusal is not.
REGISTRY_STEPS = ["Ping", "HeadBlob", "StartUpload", "PatchBlob", "PutBlob", "PutManifest"]
REGISTRY_FAULTS = {
    "access_denied": {"kind": "error", "error_code": "DENIED", "http_status": 403, "message": "not authorized"},
    "throttled_then_ok": {"kind": "throttle"},
    "server_error_then_ok": {"kind": "error", "error_code": "INTERNAL", "http_status": 500, "message": "internal"},
}
REGISTRY_CASES = [(op, kind) for op in REGISTRY_STEPS for kind in REGISTRY_FAULTS]


@pytest.mark.parametrize("case", REGISTRY_CASES, ids=[f"Clone-registry.{op}-{kind}" for op, kind in REGISTRY_CASES])
async def test_registry_fault(mcp_client, admin, ecr, testbed, case):
    operation, kind = case
    admin("calls/reset")
    admin("faults", {"service": "registry", "operation": operation, "count": 1, **REGISTRY_FAULTS[kind]})
    async with mcp_client() as server:
        is_error, out, text = await call(server.session, CLONE, ARGS[CLONE])
    repository = "seqera-community/test/amd64"
    stored = ecr.describe_images(repositoryName=repository)["imageDetails"] if not is_error else []
    # Ping only probes how to authenticate: a refusal there decides nothing, the calls after it do.
    if kind == "access_denied" and operation != "Ping":
        assert is_error, f"a refused {operation} was not reported: {text}"
        assert out["error"]["code"] == "access_denied", out["error"]
        assert "network" not in out["error"]["remediation"].lower()
        # Made before the copy: said, and reused by a retry.
        assert out["error"]["details"]["completed"], "what the clone had changed is listed"
        return
    assert not is_error, f"one {kind} at {operation} should be absorbed: {text}"
    assert out["verified"] is True
    assert [d["imageDigest"] for d in stored] == [out["ecr_digest"]]
