"""ValidateHealthOmicsECRConfig: truthful severities, exact fixes, and real repository checks."""

import json

import pytest
from account import calls, client, deny, omics_pull, policy, put_registry_statements, registry_grant, usable_cache
from mcp_harness import call

TOOL = "ValidateHealthOmicsECRConfig"


async def validate(mcp_client, **args):
    async with mcp_client() as server:
        is_error, out, text = await call(server.session, TOOL, args)
    assert not is_error, text
    return out


def issues_of(out, component=None, severity=None):
    return [
        i
        for i in out["issues"]
        if (component is None or i["component"] == component) and (severity is None or i["severity"] == severity)
    ]


async def test_no_rules_is_valid_with_advice(mcp_client):
    out = await validate(mcp_client)
    assert out["valid"] is True and out["pull_through_caches_checked"] == 0
    (info,) = out["issues"]
    assert info["severity"] == "info" and "CreatePullThroughCacheForHealthOmics" in info["remediation"]


async def test_a_complete_setup_is_valid_and_yields_the_run_role_policy(mcp_client, ecr, testbed, admin):
    usable_cache(testbed, ecr, "quay", "quay.io")
    usable_cache(testbed, ecr, "ecr-public", "public.ecr.aws")
    put_registry_statements(ecr, registry_grant(testbed, "quay", "Q"), registry_grant(testbed, "ecr-public", "E"))
    ecr.create_repository(repositoryName="quay/biocontainers/samtools")
    ecr.set_repository_policy(repositoryName="quay/biocontainers/samtools", policyText=policy(omics_pull()))
    for name in ["copies/bwa", "copies/star"]:
        ecr.create_repository(repositoryName=name)
    # By default: the verdicts, without the run role's policy, so only the cached repository's
    # policy is read (the others matter only to that policy).
    admin("calls/reset")
    out = await validate(mcp_client)
    assert out["valid"] is True, out["issues"]
    assert out["pull_through_caches_checked"] == 2
    assert out["repositories_checked"] == 1
    assert "service_role_policy" not in out
    assert "detail true" in out["issues"][-1]["remediation"]
    assert calls(admin).get("GetRepositoryPolicy") == 1, calls(admin)
    admin("calls/reset")
    out = await validate(mcp_client, detail=True)
    assert out["valid"] is True and out["repositories_checked"] == 1
    assert calls(admin).get("GetRepositoryPolicy") == 3, calls(admin)
    resources = [r for s in out["service_role_policy"]["Statement"] for r in s["Resource"]]
    arn = f"arn:aws:ecr:{testbed.region}:{testbed.account_id}:repository/"
    assert f"{arn}quay/*" in resources and f"{arn}ecr-public/*" in resources


async def test_missing_registry_grant_comes_with_the_full_merged_policy(mcp_client, ecr, testbed):
    usable_cache(testbed, ecr, "quay", "quay.io")
    foreign = {
        "Sid": "Replication",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
        "Resource": f"arn:aws:ecr:{testbed.region}:{testbed.account_id}:repository/*",
    }
    put_registry_statements(ecr, foreign)
    compact = await validate(mcp_client)
    (short,) = issues_of(compact, "registry_policy")
    # The suggested call makes the change; the full policy comes with detail=true.
    assert "fix_policy" not in short and short["fix_tool_call"]["tool"] == "CreatePullThroughCacheForHealthOmics"
    out = await validate(mcp_client, detail=True)
    assert out["valid"] is False
    (issue,) = issues_of(out, "registry_policy")
    assert issue["severity"] == "error" and issue["prefix"] == "quay"
    fix = issue["fix_policy"]
    assert fix["Statement"][0] == foreign
    added = fix["Statement"][1]
    assert added["Resource"] == f"arn:aws:ecr:{testbed.region}:{testbed.account_id}:repository/quay/*"
    # The fix really works: put it in place and validate again.
    ecr.put_registry_policy(policyText=json.dumps(fix))
    again = await validate(mcp_client)
    assert again["valid"] is True, again["issues"]


async def test_denied_registry_policy_read_is_a_permissions_issue(mcp_client, ecr, testbed, admin):
    usable_cache(testbed, ecr, "quay", "quay.io")
    put_registry_statements(ecr, registry_grant(testbed, "quay"))
    deny(admin, "ecr", "GetRegistryPolicy", "no")
    out = await validate(mcp_client)
    (issue,) = issues_of(out, "permissions")
    assert "ecr:GetRegistryPolicy" in issue["message"] and "ecr:GetRegistryPolicy" in issue["remediation"]
    assert not issues_of(out, "registry_policy"), "a denied read must not be reported as a missing policy"


async def test_template_problems_and_severities(mcp_client, ecr, testbed):
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="k8s", upstreamRegistryUrl="registry.k8s.io")
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="ecr-public", upstreamRegistryUrl="public.ecr.aws")
    put_registry_statements(
        ecr, *(registry_grant(testbed, p, f"S{i}") for i, p in enumerate(["quay", "k8s", "ecr-public"]))
    )
    # quay: no template at all. k8s: the Python server's two-action template. ecr-public: not for PTC.
    ecr.create_repository_creation_template(
        prefix="k8s",
        appliedFor=["PULL_THROUGH_CACHE"],
        repositoryPolicy=policy(omics_pull(actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"])),
    )
    ecr.create_repository_creation_template(
        prefix="ecr-public", appliedFor=["REPLICATION"], repositoryPolicy=policy(omics_pull())
    )
    out = await validate(mcp_client, detail=True)
    by_prefix = {}
    for issue in issues_of(out, "repository_template"):
        by_prefix.setdefault(issue["prefix"], []).append(issue)
    assert [i["severity"] for i in by_prefix["quay"]] == ["error"]
    assert by_prefix["quay"][0]["fix_policy"]["Statement"][0]["Sid"] == "HealthOmicsImagePull"
    assert [i["severity"] for i in by_prefix["k8s"]] == ["warning"]
    assert "ecr:BatchCheckLayerAvailability" in by_prefix["k8s"][0]["message"]
    assert [i["severity"] for i in by_prefix["ecr-public"]] == ["error"]
    assert "PULL_THROUGH_CACHE" in by_prefix["ecr-public"][0]["remediation"]


async def test_credential_secrets_are_checked(mcp_client, ecr, sm, testbed):
    good = sm.create_secret(Name="ecr-pullthroughcache/hub", SecretString="{}")["ARN"]
    doomed = sm.create_secret(Name="ecr-pullthroughcache/ghcr", SecretString="{}")["ARN"]
    usable_cache(testbed, ecr, "docker-hub", "registry-1.docker.io", credential_arn=good)
    usable_cache(testbed, ecr, "github", "ghcr.io", credential_arn=doomed)
    put_registry_statements(ecr, registry_grant(testbed, "docker-hub", "H"), registry_grant(testbed, "github", "G"))
    sm.delete_secret(SecretId=doomed, RecoveryWindowInDays=7)
    sm.delete_secret(SecretId=good, ForceDeleteWithoutRecovery=True)
    out = await validate(mcp_client)
    creds = {i["prefix"]: i for i in issues_of(out, "credential")}
    assert "does not exist" in creds["docker-hub"]["message"]
    assert "scheduled for deletion" in creds["github"]["message"]
    assert "restore-secret" in creds["github"]["remediation"]
    assert out["valid"] is False


async def test_repositories_created_before_the_template_are_found(mcp_client, ecr, testbed):
    usable_cache(testbed, ecr, "quay", "quay.io")
    put_registry_statements(ecr, registry_grant(testbed, "quay"))
    for name in ["quay/biocontainers/samtools", "quay/biocontainers/bwa", "unrelated/tool"]:
        ecr.create_repository(repositoryName=name)
    ecr.set_repository_policy(repositoryName="quay/biocontainers/bwa", policyText=policy(omics_pull()))
    out = await validate(mcp_client)
    assert out["repositories_checked"] == 2
    (issue,) = issues_of(out, "repository")
    assert issue["repository_name"] == "quay/biocontainers/samtools" and issue["severity"] == "error"
    assert issue["fix_tool_call"] == {
        "tool": "GrantHealthOmicsRepositoryAccess",
        "arguments": {"repository_name": "quay/biocontainers/samtools", "aws_region": testbed.region},
    }
    # The suggested call fixes it.
    async with mcp_client() as server:
        is_error, _, text = await call(
            server.session, issue["fix_tool_call"]["tool"], issue["fix_tool_call"]["arguments"]
        )
        assert not is_error, text
        _, again, _ = await call(server.session, TOOL, {})
    assert again["valid"] is True, again["issues"]


async def test_unsupported_upstream_is_an_error(mcp_client, ecr, testbed):
    usable_cache(testbed, ecr, "other-ecr", "210987654321.dkr.ecr.us-east-1.amazonaws.com")
    put_registry_statements(ecr, registry_grant(testbed, "other-ecr"))
    out = await validate(mcp_client)
    (issue,) = issues_of(out, "pull_through_cache", "error")
    assert "does not support" in issue["message"]


async def test_denied_rule_listing_is_reported_not_hidden(mcp_client, admin):
    deny(admin, "ecr", "DescribePullThroughCacheRules", "no")
    out = await validate(mcp_client)
    assert out["valid"] is False
    (issue,) = out["issues"]
    assert issue["component"] == "permissions" and "ecr:DescribePullThroughCacheRules" in issue["remediation"]


async def test_suggested_create_call_completes_a_half_done_cache(mcp_client, ecr, sm, testbed):
    arn = sm.create_secret(Name="ecr-pullthroughcache/hub", SecretString='{"username":"u","accessToken":"t"}')["ARN"]
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="hub", upstreamRegistryUrl="registry-1.docker.io", credentialArn=arn
    )
    out = await validate(mcp_client)
    fixes = {json_key(i["fix_tool_call"]) for i in out["issues"] if i.get("fix_tool_call")}
    assert len(fixes) == 1, out["issues"]
    fix = next(i["fix_tool_call"] for i in out["issues"] if i.get("fix_tool_call"))
    assert fix["arguments"]["credential_arn"] == arn and fix["arguments"]["ecr_repository_prefix"] == "hub"
    async with mcp_client() as server:
        is_error, _, text = await call(server.session, fix["tool"], fix["arguments"])
        assert not is_error, text
        _, again, _ = await call(server.session, TOOL, {})
    assert again["valid"] is True, again["issues"]


def json_key(value):
    return json.dumps(value, sort_keys=True)


AUDIT_STEPS = [
    ("ecr", "DescribePullThroughCacheRules", "error"),
    ("ecr", "GetRegistryPolicy", "error"),
    ("ecr", "DescribeRepositoryCreationTemplates", "error"),
    ("secretsmanager", "DescribeSecret", "warning"),
    ("ecr", "DescribeRepositories", "error"),
    ("ecr", "GetRepositoryPolicy", "warning"),
]


@pytest.mark.parametrize("service,operation,severity", AUDIT_STEPS, ids=[s[1] for s in AUDIT_STEPS])
async def test_access_denied_at_each_step_is_reported_as_a_permission_problem(
    mcp_client, ecr, sm, testbed, admin, service, operation, severity
):
    arn = sm.create_secret(Name="ecr-pullthroughcache/hub", SecretString="{}")["ARN"]
    usable_cache(testbed, ecr, "hub", "registry-1.docker.io", credential_arn=arn)
    put_registry_statements(ecr, registry_grant(testbed, "hub"))
    ecr.create_repository(repositoryName="hub/library/ubuntu")
    ecr.set_repository_policy(repositoryName="hub/library/ubuntu", policyText=policy(omics_pull()))
    deny(admin, service, operation, "explicit deny in an SCP")
    out = await validate(mcp_client)
    action = f"{service}:{operation}"
    mentioning = [i for i in out["issues"] if action in i["message"] + i["remediation"]]
    assert mentioning, out["issues"]
    assert mentioning[0]["severity"] == severity
    assert mentioning[0]["component"] in {"permissions", "credential"}
    assert out["valid"] is (severity != "error")


async def test_a_given_registry_map_is_checked_as_healthomics_reads_it(mcp_client, ecr, sm, testbed):
    usable_cache(testbed, ecr, "quay", "quay.io")
    put_registry_statements(ecr, registry_grant(testbed, "quay"))
    doomed = sm.create_secret(Name="omics-registry/ngc", SecretString="{}")["ARN"]
    sm.delete_secret(SecretId=doomed, RecoveryWindowInDays=7)
    container_map = {
        "registryMappings": [
            {"upstreamRegistryUrl": "quay.io", "ecrRepositoryPrefix": "quay"},
            {"upstreamRegistryUrl": "docker.io", "ecrRepositoryPrefix": "docker-hub"},
            {"upstreamRegistryUrl": "community.wave.seqera.io", "ecrRepositoryPrefix": "wave"},
            {"upstreamRegistryUrl": "nvcr.io", "ecrRepositoryPrefix": "ngc", "credentialArn": doomed},
        ],
        "imageMappings": [],
    }
    out = await validate(mcp_client, container_registry_map=container_map)
    assert out["valid"] is False
    map_issues = issues_of(out, "registry_map")
    text = json.dumps(map_issues)
    assert "registryMappings[1].upstreamRegistryUrl" in text and "registry-1.docker.io" in text
    assert any("credentialArn" in i["message"] and i["severity"] == "error" for i in map_issues)
    (cred,) = issues_of(out, "credential")
    assert "scheduled for deletion" in cred["message"] and cred["prefix"] == "ngc"
    templates = [i for i in issues_of(out, "repository_template") if i["prefix"] == "ngc"]
    assert templates and templates[0]["severity"] == "warning" and "CREATE_ON_PUSH" in templates[0]["remediation"]


async def test_a_workflows_map_is_read_and_checked(mcp_client, testbed):
    omics = client(testbed, "omics")
    created = omics.create_workflow(
        name="wgs",
        engine="WDL",
        definitionZip=b"PK\x05\x06" + b"\x00" * 18,
        requestId="w1",
        containerRegistryMap={"registryMappings": [{"upstreamRegistryUrl": "quay.io/", "ecrRepositoryPrefix": "quay"}]},
    )
    out = await validate(mcp_client, workflow_id=created["id"])
    messages = " ".join(i["message"] for i in issues_of(out, "registry_map"))
    assert f"workflow {created['id']}" in messages and "upstreamRegistryUrl" in messages
    out = await validate(mcp_client, workflow_id="424242")
    assert any("does not exist" in i["message"] for i in issues_of(out, "registry_map", "error"))


async def test_run_role_policy_covers_every_repository_a_run_pulls(mcp_client, ecr, testbed):
    """Without any cache: a copied repository HealthOmics may read and an image-mapping destination."""
    from account import omics_pull, policy

    ecr.create_repository(repositoryName="seqera-community/test/amd64")
    ecr.set_repository_policy(repositoryName="seqera-community/test/amd64", policyText=policy(omics_pull()))
    ecr.create_repository(repositoryName="private/not-for-omics")
    host = f"{testbed.account_id}.dkr.ecr.{testbed.region}.amazonaws.com"
    crm = {"imageMappings": [{"sourceImage": "ubuntu:22.04", "destinationImage": f"{host}/base/ubuntu:22.04"}]}
    async with mcp_client() as server:
        is_error, out, text = await call(
            server.session, "ValidateHealthOmicsECRConfig", {"container_registry_map": crm, "detail": True}
        )
    assert not is_error, text
    resources = out["service_role_policy"]["Statement"][0]["Resource"]
    arn = f"arn:aws:ecr:{testbed.region}:{testbed.account_id}:repository"
    assert f"{arn}/seqera-community/test/amd64" in resources
    assert f"{arn}/base/ubuntu" in resources
    assert not any("not-for-omics" in r for r in resources)


async def test_map_destinations_must_exist_hold_the_image_and_be_readable(mcp_client, ecr, testbed):
    host = f"{testbed.account_id}.dkr.ecr.{testbed.region}.amazonaws.com"
    ecr.create_repository(repositoryName="base/empty")
    crm = {
        "imageMappings": [
            {"sourceImage": "ubuntu:22.04", "destinationImage": f"{host}/base/missing:22.04"},
            {"sourceImage": "alpine:3", "destinationImage": f"{host}/base/empty:3"},
        ]
    }
    async with mcp_client() as server:
        is_error, out, text = await call(server.session, "ValidateHealthOmicsECRConfig", {"container_registry_map": crm})
    assert not is_error, text
    assert out["valid"] is False
    problems = [i for i in out["issues"] if i["component"] == "registry_map" and "imageMappings" in i["message"]]
    assert len(problems) == 2, problems
    missing, empty = problems
    assert "does not exist" in missing["message"] and missing["severity"] == "error"
    assert missing["fix_tool_call"]["tool"] == "CloneContainerToECR"
    assert missing["fix_tool_call"]["arguments"]["target_repository_name"] == "base/missing"
    assert missing["fix_tool_call"]["arguments"]["source_image"] == "ubuntu:22.04"
    assert "no image `3`" in empty["message"]
