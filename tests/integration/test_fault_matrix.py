"""The fault matrix: every AWS step of each mutating tool, under each kind of failure, from one table.

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
