"""ListPullThroughCacheRules through a real MCP client against the testbed."""

import pytest
from account import calls, client, deny, omics_pull, policy, put_registry_statements, registry_grant, usable_cache
from mcp_harness import call

TOOL = "ListPullThroughCacheRules"


@pytest.fixture
def secret_arn(testbed):
    sm = client(testbed, "secretsmanager")
    return sm.create_secret(Name="ecr-pullthroughcache/docker-hub", SecretString='{"username":"u","accessToken":"t"}')[
        "ARN"
    ]


async def rules(mcp_client, **args):
    async with mcp_client() as server:
        is_error, out, text = await call(server.session, TOOL, args)
    assert not is_error, text
    return out, {r["ecr_repository_prefix"]: r for r in out["rules"]}


async def test_no_rules_reads_no_registry_policy(mcp_client, admin):
    out, _ = await rules(mcp_client)
    assert out["rules"] == []
    assert "GetRegistryPolicy" not in calls(admin)


async def test_usable_and_unusable_caches_with_their_reasons(mcp_client, ecr, admin, testbed, secret_arn):
    usable_cache(testbed, ecr, "quay", "quay.io")
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="docker-hub", upstreamRegistryUrl="registry-1.docker.io", credentialArn=secret_arn
    )
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="ecr-public", upstreamRegistryUrl="public.ecr.aws")
    ecr.create_repository_creation_template(prefix="ecr-public", appliedFor=["PULL_THROUGH_CACHE"])
    # Registry grant only for quay and ecr-public: docker-hub's repositories are not covered.
    put_registry_statements(ecr, registry_grant(testbed, "quay", "Q"), registry_grant(testbed, "ecr-public", "E"))
    admin("calls/reset")

    out, by_prefix = await rules(mcp_client)

    quay = by_prefix["quay"]
    assert quay["healthomics_usable"] is True and "problems" not in quay and "registry_access" not in quay
    assert out["message"].startswith("3 pull-through cache rule(s): 1 usable by HealthOmics; not:"), out["message"]
    assert quay["upstream_registry"] == "quay"

    hub = by_prefix["docker-hub"]
    assert hub["healthomics_usable"] is False
    assert hub["credential_arn"] == secret_arn
    assert hub["registry_permission_granted"] is False
    # The problems say it in words; the action lists come with detail=true.
    assert "missing_registry_permissions" not in hub
    assert any("ecr:CreateRepository" in p for p in hub["problems"]), hub["problems"]
    assert hub["repository_template_exists"] is False
    assert any("no repository creation template" in p for p in hub["problems"])

    public = by_prefix["ecr-public"]
    # A template without a policy exists: it is reported as exactly that.
    assert public["repository_template_exists"] is True
    assert any("has no repository policy" in p for p in public["problems"]), public["problems"]
    assert public["registry_permission_granted"] is True
    assert public["healthomics_usable"] is False

    # One registry-policy read and one batched template read for all rules.
    assert calls(admin)["GetRegistryPolicy"] == 1
    assert calls(admin)["DescribeRepositoryCreationTemplates"] == 1

    _, detailed = await rules(mcp_client, detail=True)
    assert sorted(detailed["docker-hub"]["missing_registry_permissions"]) == [
        "ecr:BatchImportUpstreamImage",
        "ecr:CreateRepository",
    ]


async def test_root_template_is_the_fallback(mcp_client, ecr, testbed):
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="k8s", upstreamRegistryUrl="registry.k8s.io")
    ecr.create_repository_creation_template(
        prefix="ROOT", appliedFor=["PULL_THROUGH_CACHE", "REPLICATION"], repositoryPolicy=policy(omics_pull())
    )
    put_registry_statements(ecr, registry_grant(testbed, "k8s"))
    _, by_prefix = await rules(mcp_client)
    rule = by_prefix["k8s"]
    assert rule["repository_template_prefix"] == "ROOT"
    assert rule["healthomics_usable"] is True


async def test_deny_in_registry_policy_wins(mcp_client, ecr, testbed):
    usable_cache(testbed, ecr, "quay", "quay.io")
    put_registry_statements(
        ecr,
        {
            "Sid": "All",
            "Effect": "Allow",
            "Principal": {"Service": "omics.amazonaws.com"},
            "Action": ["ecr:CreateRepository", "ecr:BatchImportUpstreamImage"],
            "Resource": "*",
        },
        {
            "Sid": "NoImports",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "ecr:BatchImportUpstreamImage",
            "Resource": "*",
        },
    )
    _, by_prefix = await rules(mcp_client, detail=True)
    access = {a["action"]: a for a in by_prefix["quay"]["registry_access"]["actions"]}
    assert access["ecr:BatchImportUpstreamImage"]["verdict"] == "denied"
    assert access["ecr:BatchImportUpstreamImage"]["decided_by"] == "NoImports"
    assert access["ecr:CreateRepository"]["verdict"] == "allowed"
    assert by_prefix["quay"]["healthomics_usable"] is False


async def test_denied_registry_policy_read_is_not_reported_as_absent(mcp_client, ecr, admin, testbed):
    usable_cache(testbed, ecr, "quay", "quay.io")
    put_registry_statements(ecr, registry_grant(testbed, "quay"))
    deny(admin, "ecr", "GetRegistryPolicy", "no")
    out, by_prefix = await rules(mcp_client, detail=True)
    assert out["registry_policy_state"] == "unreadable"
    assert by_prefix["quay"]["registry_access"]["status"] == "unknown"
    assert any("ecr:GetRegistryPolicy" in p for p in by_prefix["quay"]["problems"])


async def test_pages_pass_through(mcp_client, ecr):
    for i in range(5):
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix=f"quay{i}", upstreamRegistryUrl="quay.io")
    first, _ = await rules(mcp_client, max_results=2)
    assert len(first["rules"]) == 2 and first["next_token"]
    seen = [r["ecr_repository_prefix"] for r in first["rules"]]
    token = first["next_token"]
    while token:
        page, _ = await rules(mcp_client, max_results=2, next_token=token)
        seen += [r["ecr_repository_prefix"] for r in page["rules"]]
        token = page.get("next_token")
    assert sorted(seen) == [f"quay{i}" for i in range(5)]
