"""Writes that stay correct when calls meet: parallel calls on one policy, accumulating owner grants, the
identity the caller named, bounded inputs that always get an answer, timeouts and cancellation."""

import asyncio
import json
import time

import pytest
from account import OMICS, calls, client, policy
from mcp_harness import call

GRANT = "GrantHealthOmicsRepositoryAccess"
PTC = "CreatePullThroughCacheForHealthOmics"
A, B, C = "111122223333", "444455556666", "777788889999"


def repository_policy(ecr, name):
    try:
        return json.loads(ecr.get_repository_policy(repositoryName=name)["policyText"])
    except ecr.exceptions.RepositoryPolicyNotFoundException:
        return None


def owner_accounts(doc):
    owner = [s for s in (doc or {}).get("Statement", []) if s.get("Sid") == "HealthOmicsWorkflowOwnerPull"]
    if not owner:
        return []
    principals = owner[0]["Principal"]["AWS"]
    principals = [principals] if isinstance(principals, str) else principals
    return sorted(p.split(":")[4] for p in principals)


async def test_parallel_caches_keep_both_registry_statements(mcp_client, admin, ecr):
    admin("latency", {"ms": 40})  # real AWS is tens of ms away: enough for two calls to interleave
    async with mcp_client() as server:
        results = await asyncio.gather(
            call(server.session, PTC, {"upstream_registry": "quay"}),
            call(server.session, PTC, {"upstream_registry": "ecr-public"}),
            call(server.session, PTC, {"upstream_registry": "kubernetes"}),
        )
        for is_error, _, text in results:
            assert not is_error, text
        statements = json.loads(ecr.get_registry_policy()["policyText"])["Statement"]
        resources = sorted(s["Resource"] if isinstance(s["Resource"], str) else s["Resource"][0] for s in statements)
        assert [r.rsplit("/", 2)[-2] for r in resources] == ["ecr-public", "kubernetes", "quay"]
        # Every cache each call called ready is usable when read back afterwards.
        is_error, rules, text = await call(server.session, "ListPullThroughCacheRules", {})
    assert not is_error, text
    assert all(r["healthomics_usable"] for r in rules["rules"]), rules


async def test_parallel_grants_on_one_repository_keep_every_statement(mcp_client, admin, ecr):
    ecr.create_repository(repositoryName="tools/bwa")
    admin("latency", {"ms": 40})
    async with mcp_client() as server:
        results = await asyncio.gather(
            call(server.session, GRANT, {"repository_name": "tools/bwa"}),
            call(server.session, GRANT, {"repository_name": "tools/bwa", "workflow_owner_account_ids": [A]}),
            call(server.session, GRANT, {"repository_name": "tools/bwa", "workflow_owner_account_ids": [B]}),
        )
    for is_error, _, text in results:
        assert not is_error, text
    stored = repository_policy(ecr, "tools/bwa")
    assert owner_accounts(stored) == [A, B]
    assert any(s["Sid"] == "HealthOmicsImagePull" for s in stored["Statement"])


async def test_owner_grants_accumulate_and_are_removed_only_on_request(mcp_client, ecr, testbed):
    ecr.create_repository(repositoryName="tools/bwa")
    args = {"repository_name": "tools/bwa"}
    async with mcp_client() as server:
        _, first, _ = await call(server.session, GRANT, {**args, "workflow_owner_account_ids": [A]})
        is_error, second, text = await call(server.session, GRANT, {**args, "workflow_owner_account_ids": [B]})
        assert not is_error, text
        assert second["added_owner_accounts"] == [B] and "removed_owner_accounts" not in second
        assert second["workflow_owner_account_ids"] == [A, B]
        assert owner_accounts(repository_policy(ecr, "tools/bwa")) == [A, B]
        is_error, dry, text = await call(
            server.session, GRANT, {**args, "remove_workflow_owner_account_ids": [A], "dry_run": True}
        )
        assert not is_error, text
        assert dry["dry_run_plan"]["would_remove_owner_accounts"] == [A]
        assert owner_accounts(repository_policy(ecr, "tools/bwa")) == [A, B], "a dry run changes nothing"
        is_error, removed, text = await call(server.session, GRANT, {**args, "remove_workflow_owner_account_ids": [A]})
        assert not is_error, text
        is_error, both, _ = await call(
            server.session,
            GRANT,
            {**args, "workflow_owner_account_ids": [C], "remove_workflow_owner_account_ids": [C]},
        )
    assert first["account_id"] == testbed.account_id and first["region"] == testbed.region
    assert removed["removed_owner_accounts"] == [A] and removed["workflow_owner_account_ids"] == [B]
    assert owner_accounts(repository_policy(ecr, "tools/bwa")) == [B]
    assert both and both["error"]["code"] == "invalid_input"


async def test_parallel_identical_clones_reuse_one_repository(mcp_client, ecr):
    source = "community.wave.seqera.io/test/amd64:1"
    async with mcp_client() as server:
        results = await asyncio.gather(*(call(server.session, "CloneContainerToECR", {"source_image": source}) for _ in range(3)))
    for is_error, out, text in results:
        assert not is_error, text
        assert out["verified"], out
    assert sum(out["repository_created"] for _, out, _ in results) <= 1
    assert ecr.describe_repositories(repositoryNames=["seqera-community/test/amd64"])["repositories"]


async def test_create_ptc_with_the_same_credentials_twice_is_a_no_op(mcp_client, sm):
    args = {"upstream_registry": "github", "username": "me", "access_token": "ghp_SECRET_123456"}
    async with mcp_client() as server:
        is_error, first, text = await call(server.session, PTC, args)
        assert not is_error, text
        is_error, second, text = await call(server.session, PTC, args)
        assert not is_error, text
        is_error, other, _ = await call(server.session, PTC, {**args, "access_token": "ghp_OTHER_99999"})
    assert first["secret_created"] is True
    assert second["secret_created"] is False and "planned_changes" not in second
    assert second["credential_arn"] == first["credential_arn"]
    assert other["error"]["code"] == "conflict"
    assert "ghp_" not in json.dumps([first, second, other])


def credentials_file(home, profile, key_id, secret, token=None):
    path = home / "credentials"
    lines = [f"[{profile}]", f"aws_access_key_id = {key_id}", f"aws_secret_access_key = {secret}"]
    if token:
        lines.append(f"aws_session_token = {token}")
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_a_named_profile_wins_over_environment_credentials(mcp_client, testbed, tmp_path):
    other_account = "210987654321"
    creds = client(testbed, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{other_account}:role/other", RoleSessionName="session"
    )["Credentials"]
    path = credentials_file(
        tmp_path, "other", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    )
    # The environment still holds the default account's keys (AWS_ACCESS_KEY_ID=testing).
    async with mcp_client(env={"AWS_SHARED_CREDENTIALS_FILE": str(path)}) as server:
        is_error, named, text = await call(server.session, "CreateContainerRegistryMap", {"aws_profile": "other"})
        assert not is_error, text
        is_error, default, text = await call(server.session, "CreateContainerRegistryMap", {})
        assert not is_error, text
        is_error, missing, _ = await call(server.session, "ListECRRepositories", {"aws_profile": "nope"})
    assert named["account_id"] == other_account
    assert default["account_id"] == testbed.account_id
    assert missing["error"]["code"] == "no_credentials"
    assert "`nope`" in missing["error"]["message"] and "other" in missing["error"]["remediation"]


async def test_the_server_profile_flag_wins_too(mcp_client, testbed, tmp_path):
    creds = client(testbed, "sts").assume_role(RoleArn="arn:aws:iam::210987654321:role/o", RoleSessionName="session")[
        "Credentials"
    ]
    path = credentials_file(tmp_path, "o", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    async with mcp_client("--profile", "o", env={"AWS_SHARED_CREDENTIALS_FILE": str(path)}) as server:
        is_error, out, text = await call(server.session, "CreateContainerRegistryMap", {})
    assert not is_error, text
    assert out["account_id"] == "210987654321"


BAD_INPUTS = [
    ("CreateContainerRegistryMap", {"workflow_id": "9" * 70_000}, "workflow_id"),
    ("ValidateHealthOmicsECRConfig", {"workflow_id": "abc"}, "workflow_id"),
    ("ListECRRepositories", {"aws_region": "../../"}, "aws_region"),
    ("ListECRRepositories", {"aws_region": "x" * 100_000}, "aws_region"),
    ("ListECRRepositories", {"aws_profile": "has space"}, "aws_profile"),
    ("CloneContainerToECR", {"source_image": "quay.io/a/b:1", "target_image_tag": "bad tag"}, "target_image_tag"),
    ("CloneContainerToECR", {"source_image": "quay.io/a/b:1", "platform": "windows/../x"}, None),
    (PTC, {"upstream_registry": "quay", "upstream_repository_prefix": "Bad Prefix!"}, "upstream_repository_prefix"),
    (GRANT, {"repository_name": "tools/r", "workflow_owner_account_ids": ["1"] * 1001}, "workflow_owner_account_ids"),
    (GRANT, {"repository_name": 42}, None),
    (GRANT, {"repository_name": "r", "unknown_parameter": 1}, None),
]


@pytest.mark.parametrize("tool,args,named", BAD_INPUTS, ids=[f"{t}-{n or i}" for i, (t, _, n) in enumerate(BAD_INPUTS)])
async def test_bad_input_is_answered_with_a_clear_error_and_changes_nothing(mcp_client, admin, tool, args, named):
    admin("calls/reset")
    async with mcp_client() as server:
        is_error, out, text = await call(server.session, tool, args)
    assert is_error, text
    assert out["error"]["code"] == "invalid_input", out
    assert out["error"]["remediation"]
    assert len(text) < 2000, "the bad value is not echoed back in full"
    if named:
        assert named in out["error"]["message"]
    assert not any(op.startswith(("Put", "Set", "Create")) for op in calls(admin)), calls(admin)


async def test_a_stalled_aws_call_times_out_with_a_clear_error(mcp_client, admin, ecr):
    ecr.create_repository(repositoryName="tools/bwa")
    admin(
        "faults",
        {"service": "ecr", "operation": "GetRepositoryPolicy", "kind": "stall", "stall_seconds": 30, "count": 5},
    )
    started = time.monotonic()
    async with mcp_client("--aws-timeout", "2", "--aws-attempt-timeout", "1") as server:
        is_error, out, text = await call(server.session, GRANT, {"repository_name": "tools/bwa"})
    assert time.monotonic() - started < 20
    assert is_error and out["error"]["code"] == "timeout", text
    assert "SetRepositoryPolicy" not in calls(admin)


async def test_a_cancelled_grant_does_not_write(mcp_client, admin, ecr):
    ecr.create_repository(repositoryName="tools/bwa")
    # The read stalls; the client cancels while it does; the write must never happen.
    admin("faults", {"service": "ecr", "operation": "GetRepositoryPolicy", "kind": "stall", "stall_seconds": 2})
    async with mcp_client() as server:
        session = server.session
        pending = asyncio.ensure_future(call(session, GRANT, {"repository_name": "tools/bwa"}))
        await asyncio.sleep(0.5)
        # Cancelling the awaiting task makes the SDK send notifications/cancelled for the request.
        pending.cancel()
        try:
            await pending
        except asyncio.CancelledError:
            pass
        await asyncio.sleep(3)  # past the stall: an uncancelled call would have written by now
        # The server still answers other calls.
        is_error, out, text = await call(session, "ListECRRepositories", {})
        assert not is_error, text
    assert "SetRepositoryPolicy" not in calls(admin)
    assert repository_policy(ecr, "tools/bwa") is None


async def test_registry_map_tool_writes_no_files_and_is_read_only(mcp_client):
    async with mcp_client() as server:
        tools = {t.name: t for t in (await server.session.list_tools()).tools}
    tool = tools["CreateContainerRegistryMap"]
    assert tool.annotations.read_only_hint is True
    assert "output_path" not in tool.input_schema["properties"]


READ_CALLS = [
    ("ValidateHealthOmicsECRConfig", {}),
    ("ListPullThroughCacheRules", {}),
    ("ListECRRepositories", {}),
    ("CheckContainerAvailability", {"repository_name": "tools/bwa", "image_tag": "1"}),
    ("CreateContainerRegistryMap", {}),
    ("CloneContainerToECR", {"source_image": "community.wave.seqera.io/test/amd64:1", "dry_run": True}),
    (GRANT, {"repository_name": "tools/bwa", "dry_run": True}),
    (PTC, {"upstream_registry": "quay", "dry_run": True}),
]


@pytest.mark.parametrize("tool,args", READ_CALLS, ids=[t for t, _ in READ_CALLS])
async def test_every_result_names_the_account_and_region(mcp_client, ecr, testbed, tool, args):
    ecr.create_repository(repositoryName="tools/bwa")
    async with mcp_client() as server:
        is_error, out, text = await call(server.session, tool, args)
    assert not is_error, text
    if "account_id" in out:
        assert out["account_id"] == testbed.account_id and out["region"] == testbed.region, out
    else:
        # Said once, in the registry host or example URI every such result carries.
        host = f"{testbed.account_id}.dkr.ecr.{testbed.region}.amazonaws.com"
        named = out.get("registry") or out.get("example_image_uri", "")
        assert named.startswith(host), out
        assert tool in {"ListECRRepositories", PTC}, f"{tool} must name its account in account_id"
