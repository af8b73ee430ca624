"""CreatePullThroughCacheForHealthOmics: every upstream, credentials, merges that keep foreign settings,
dry run, conflicts, and a fault at each write step."""

import json

import pytest
from account import OMICS, calls, deny, policy
from mcp_harness import call

TOOL = "CreatePullThroughCacheForHealthOmics"
TOKEN = "dckr_pat_TOPSECRET_1234567890"
WRITES = {
    "CreatePullThroughCacheRule",
    "PutRegistryPolicy",
    "CreateRepositoryCreationTemplate",
    "UpdateRepositoryCreationTemplate",
    "SetRepositoryPolicy",
}


def secret(sm, name="ecr-pullthroughcache/creds"):
    return sm.create_secret(Name=name, SecretString=json.dumps({"username": "u", "accessToken": "t"}))["ARN"]


async def create(mcp_client, args, **client_args):
    async with mcp_client(**client_args) as server:
        result = await call(server.session, TOOL, args)
        return result, server.stderr()


UPSTREAMS = [
    ("docker-hub", "registry-1.docker.io", True, {}),
    ("quay", "quay.io", False, {}),
    ("ecr-public", "public.ecr.aws", False, {}),
    ("kubernetes", "registry.k8s.io", False, {}),
    ("github", "ghcr.io", True, {}),
    ("gitlab", "registry.gitlab.com", True, {}),
    ("azure", "myreg.azurecr.io", True, {"upstream_registry_url": "myreg.azurecr.io"}),
]


@pytest.mark.parametrize("name,url,needs_credential,extra", UPSTREAMS, ids=[u[0] for u in UPSTREAMS])
async def test_each_upstream_becomes_usable(mcp_client, sm, name, url, needs_credential, extra):
    args = {"upstream_registry": name, "detail": True, **extra}
    if needs_credential:
        args["credential_arn"] = secret(sm)
    (is_error, out, text), _ = await create(mcp_client, args)
    assert not is_error, text
    assert out["success"] and out["rule_created"]
    rule = out["rule"]
    assert rule["healthomics_usable"] is True, rule["problems"]
    assert rule["upstream_registry_url"] == url
    assert out["registry_mapping"] == {"upstreamRegistryUrl": url, "ecrRepositoryPrefix": out["ecr_repository_prefix"]}
    if needs_credential:
        assert out["credential_validation"]["is_valid"] is True


async def test_credentials_from_username_and_token_never_leak(mcp_client, sm, ecr):
    args = {"upstream_registry": "docker-hub", "username": "me", "access_token": TOKEN}
    (is_error, out, text), stderr = await create(
        mcp_client, args, env={"FASTMCP_LOG_LEVEL": "DEBUG", "RUST_LOG": "trace"}
    )
    assert not is_error, text
    assert out["secret_created"] is True
    stored = sm.get_secret_value(SecretId="ecr-pullthroughcache/docker-hub")
    assert json.loads(stored["SecretString"]) == {"username": "me", "accessToken": TOKEN}
    assert out["credential_arn"] == stored["ARN"]
    assert TOKEN not in json.dumps(out) and TOKEN not in text
    assert TOKEN not in stderr, "the token reached the logs"
    assert len(stderr) > 0, "trace logging should have produced output"
    # A second run with the same token finds the secret holding it and reuses it: a no-op.
    (is_error, again, text), stderr = await create(mcp_client, args)
    assert not is_error, text
    assert again["secret_created"] is False and again["credential_arn"] == stored["ARN"]
    assert "planned_changes" not in again
    assert TOKEN not in json.dumps(again) and TOKEN not in stderr


async def test_credential_checks(mcp_client, sm):
    wrong_name = sm.create_secret(Name="dockerhub-creds", SecretString="{}")["ARN"]
    (is_error, out, _), _ = await create(mcp_client, {"upstream_registry": "docker-hub", "credential_arn": wrong_name})
    assert is_error and "ecr-pullthroughcache/" in out["error"]["message"]
    (is_error, out, _), _ = await create(mcp_client, {"upstream_registry": "docker-hub"})
    assert is_error and out["error"]["code"] == "invalid_input" and "access_token" in out["error"]["remediation"]
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/nope-AbCdEf"
    (is_error, out, _), _ = await create(mcp_client, {"upstream_registry": "github", "credential_arn": missing})
    assert is_error and out["error"]["code"] == "not_found"


async def test_same_rule_is_reused_and_a_different_one_is_a_conflict(mcp_client, ecr, admin):
    (is_error, first, text), _ = await create(mcp_client, {"upstream_registry": "quay"})
    assert not is_error, text
    admin("calls/reset")
    (is_error, again, text), _ = await create(mcp_client, {"upstream_registry": "quay"})
    assert not is_error, text
    assert again["rule_created"] is False and "planned_changes" not in again
    assert not WRITES & set(calls(admin))
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="ecr-public", upstreamRegistryUrl="quay.io")
    (is_error, out, _), _ = await create(mcp_client, {"upstream_registry": "ecr-public"})
    assert is_error and out["error"]["code"] == "conflict"
    assert "quay.io" in out["error"]["message"] and "Nothing was changed" in out["error"]["message"]


async def test_existing_template_settings_and_foreign_policy_statements_survive(mcp_client, ecr, testbed):
    foreign_template_statement = {
        "Sid": "CiPush",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "ecr:PutImage",
    }
    ecr.create_repository_creation_template(
        prefix="quay",
        description="team template",
        appliedFor=["CREATE_ON_PUSH", "REPLICATION"],
        imageTagMutability="IMMUTABLE",
        repositoryPolicy=policy(foreign_template_statement),
        resourceTags=[{"Key": "team", "Value": "genomics"}],
    )
    registry_foreign = [
        {
            "Sid": "Replicate",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
            "Resource": f"arn:aws:ecr:{testbed.region}:{testbed.account_id}:repository/*",
        },
        {
            "Sid": "NoImportsOfSecrets",
            "Effect": "Deny",
            "Principal": {"Service": OMICS},
            "Action": "ecr:BatchImportUpstreamImage",
            "Resource": f"arn:aws:ecr:{testbed.region}:{testbed.account_id}:repository/secret/*",
        },
    ]
    ecr.put_registry_policy(policyText=policy(*registry_foreign))

    (is_error, out, text), _ = await create(mcp_client, {"upstream_registry": "quay"})
    assert not is_error, text
    assert out["repository_template_updated"] and not out["repository_template_created"]

    template = ecr.describe_repository_creation_templates(prefixes=["quay"])["repositoryCreationTemplates"][0]
    assert sorted(template["appliedFor"]) == ["CREATE_ON_PUSH", "PULL_THROUGH_CACHE", "REPLICATION"]
    assert template["description"] == "team template"
    assert template["imageTagMutability"] == "IMMUTABLE"
    assert template["resourceTags"] == [{"Key": "team", "Value": "genomics"}]
    statements = json.loads(template["repositoryPolicy"])["Statement"]
    assert statements[0] == foreign_template_statement
    assert [s["Sid"] for s in statements] == ["CiPush", "HealthOmicsImagePull"]

    registry = json.loads(ecr.get_registry_policy()["policyText"])["Statement"]
    assert registry[:2] == registry_foreign
    ours = registry[2]
    assert ours["Resource"] == f"arn:aws:ecr:{testbed.region}:{testbed.account_id}:repository/quay/*"


async def test_dry_run_plans_everything_and_changes_nothing(mcp_client, ecr, sm, admin):
    admin("calls/reset")
    args = {"upstream_registry": "github", "username": "me", "access_token": TOKEN, "dry_run": True}
    (is_error, out, text), _ = await create(mcp_client, args)
    assert not is_error, text
    assert [c["action"] for c in out["planned_changes"]] == [
        "secretsmanager:CreateSecret",
        "ecr:CreatePullThroughCacheRule",
        "ecr:PutRegistryPolicy",
        "ecr:CreateRepositoryCreationTemplate",
    ]
    assert not any(c["done"] for c in out["planned_changes"])
    assert out["registry_policy_before"] is None if "registry_policy_before" in out else True
    assert out["planned_registry_policy"]["Statement"][0]["Principal"] == {"Service": OMICS}
    assert out["planned_template"]["appliedFor"] == ["PULL_THROUGH_CACHE"]
    # Nothing in a dry run reads as done.
    assert "registry_policy_after" not in out and "template_after" not in out
    for flag in ("rule_created", "secret_created", "registry_policy_updated", "repository_template_created"):
        assert out[flag] is False, flag
    assert out["message"].startswith("Dry run") and "nothing was changed" in out["message"]
    assert not WRITES & set(calls(admin)) and "CreateSecret" not in calls(admin, "secretsmanager")
    assert ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
    assert TOKEN not in json.dumps(out)


WRITE_STEPS = [
    ("secretsmanager", "CreateSecret", []),
    ("ecr", "CreatePullThroughCacheRule", ["store the upstream credentials"]),
    ("ecr", "PutRegistryPolicy", ["store the upstream credentials", "create the rule"]),
    ("ecr", "CreateRepositoryCreationTemplate", ["store the upstream credentials", "create the rule", "add statement"]),
]


@pytest.mark.parametrize("service,operation,done_before", WRITE_STEPS, ids=[s[1] for s in WRITE_STEPS])
async def test_a_fault_at_each_write_step_says_what_was_done(mcp_client, admin, service, operation, done_before):
    deny(admin, service, operation, "denied by SCP")
    args = {"upstream_registry": "github", "username": "me", "access_token": TOKEN}
    (is_error, out, text), stderr = await create(mcp_client, args)
    assert is_error
    error = out["error"]
    completed = [c["description"] for c in error["details"]["completed"]]
    assert len(completed) == len(done_before)
    for expected, got in zip(done_before, completed):
        assert got.startswith(expected), (expected, got)
    assert error["details"]["remaining"], "the remaining steps are listed"
    assert f"{service}:{operation}" in error["remediation"]
    assert error["code"] == ("partial_failure" if done_before else "access_denied")
    if done_before:
        assert "credential_arn" in error["remediation"], "a created secret is named for the retry"
    assert TOKEN not in json.dumps(out) and TOKEN not in stderr


async def test_registries_healthomics_copies_itself_are_explained(mcp_client):
    (is_error, out, _), _ = await create(mcp_client, {"upstream_registry": "community.wave.seqera.io"})
    assert is_error and "credentialArn" in out["error"]["remediation"]


async def test_a_foreign_deny_blocks_with_nothing_written(mcp_client, ecr, testbed, admin):
    deny = {
        "Sid": "NoOmics",
        "Effect": "Deny",
        "Principal": {"Service": OMICS},
        "Action": "ecr:CreateRepository",
        "Resource": "*",
    }
    ecr.put_registry_policy(policyText=policy(deny))
    admin("calls/reset")
    (is_error, out, _), _ = await create(mcp_client, {"upstream_registry": "quay"})
    assert is_error and out["error"]["code"] == "conflict" and "NoOmics" in out["error"]["message"]
    assert not WRITES & set(calls(admin))
