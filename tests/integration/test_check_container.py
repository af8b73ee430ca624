"""CheckContainerAvailability: images in ECR and through caches, pulled through on request, with the
HealthOmics container rules read from the image itself."""

import pytest
from account import calls, deny, omics_pull, policy
from mcp_harness import call

TOOL = "CheckContainerAvailability"


async def check(mcp_client, *flags, **args):
    async with mcp_client(*flags) as server:
        return await call(server.session, TOOL, args)


def digest_of(testbed, host, name):
    return testbed.upstream_images[host][name]["digest"]


async def test_pull_through_on_request_creates_the_repository_and_reads_it_back(mcp_client, testbed, quay_cache, admin):
    is_error, before, text = await check(mcp_client, image_uri="quay.io/test/amd64:1")
    assert not is_error, text
    assert before["available"] is False and before["repository_name"] == "quay/test/amd64"
    assert before["is_pull_through_cache"] is True and before["repository_exists"] is False
    assert before["suggested_fix"]["arguments"]["initiate_pull_through"] is True

    is_error, out, text = await check(mcp_client, image_uri="quay.io/test/amd64:1", initiate_pull_through=True)
    assert not is_error, text
    assert out["available"] and out["pull_through_initiated"] and out["repository_created"]
    assert out["image"]["image_digest"] == digest_of(testbed, "quay.io", "amd64")
    assert out["healthomics_accessible"] == "accessible", out.get("access")
    assert out["ecr_image_uri"].endswith(f"quay/test/amd64:1@{out['image']['image_digest']}")
    assert out.get("container_rule_findings", []) == []
    assert calls(admin)["BatchImportUpstreamImage"] == 1


async def test_a_multi_arch_index_is_kept_and_its_platforms_listed(mcp_client, testbed, quay_cache):
    is_error, out, text = await check(
        mcp_client, repository_name="quay/test/multiarch", image_tag="1", initiate_pull_through=True
    )
    assert not is_error, text
    assert out["image"]["image_digest"] == digest_of(testbed, "quay.io", "multiarch")
    assert "media_type" not in out["image"], "platforms says it is an index"
    platforms = {p["platform"] for p in out.get("platforms", [])}
    assert {"linux/amd64", "linux/arm64/v8"} <= platforms
    assert not [f for f in out.get("container_rule_findings", []) if f["code"] == "not_amd64"]


@pytest.mark.parametrize(
    "image,code",
    [
        ("arm64only", "not_amd64"),
        ("entrypoint", "entrypoint_set"),
        ("reserved-env", "reserved_env_prefix"),
    ],
)
async def test_container_rules_are_warnings(mcp_client, quay_cache, image, code):
    is_error, out, text = await check(mcp_client, image_uri=f"quay.io/test/{image}:1", initiate_pull_through=True)
    assert not is_error, text
    assert out["available"] is True
    codes = {f["code"] for f in out.get("container_rule_findings", [])}
    assert code in codes, out.get("container_rule_findings", [])


async def test_files_under_tmp_are_found_only_when_layers_are_inspected(mcp_client, quay_cache):
    args = {"image_uri": "quay.io/test/tmpfiles:1", "initiate_pull_through": True}
    _, plain, _ = await check(mcp_client, **args)
    assert "files_in_tmp" not in {f["code"] for f in plain.get("container_rule_findings", [])}
    _, deep, _ = await check(mcp_client, **args, inspect_layers=True)
    assert "files_in_tmp" in {f["code"] for f in deep.get("container_rule_findings", [])}


async def test_an_unusable_cache_is_not_pulled_through(mcp_client, testbed, ecr, admin):
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    is_error, out, text = await check(mcp_client, image_uri="quay.io/test/amd64:1", initiate_pull_through=True)
    assert not is_error, text
    assert out["available"] is False and "pull_through_initiated" not in out
    assert "cannot use the cache" in out["pull_through_initiation_message"]
    assert out["suggested_fix"]["tool"] == "CreatePullThroughCacheForHealthOmics"
    assert "BatchImportUpstreamImage" not in calls(admin)


async def test_a_missing_upstream_image_is_reported(mcp_client, quay_cache):
    is_error, out, text = await check(mcp_client, image_uri="quay.io/test/nope:1", initiate_pull_through=True)
    assert not is_error, text
    assert out["available"] is False and "repository_created" not in out
    assert "ImageNotFound" in out["pull_through_initiation_message"]


async def test_plain_repository_by_name_and_digest(mcp_client, testbed, ecr):
    ecr.create_repository(repositoryName="tools/app")
    ecr.set_repository_policy(repositoryName="tools/app", policyText=policy(omics_pull()))
    is_error, out, _ = await check(mcp_client, repository_name="tools/app", image_tag="2.0")
    assert not is_error and out["available"] is False and out["repository_exists"] is True
    assert out["healthomics_accessible"] == "accessible"
    is_error, bad, _ = await check(mcp_client, repository_name="tools/app", image_digest="sha256:abc")
    assert is_error and bad["error"]["code"] == "invalid_input" and "64" in bad["error"]["remediation"]


async def test_upstream_without_a_cache_gets_the_right_fix(mcp_client):
    _, wave, _ = await check(mcp_client, image_uri="community.wave.seqera.io/library/samtools:1.21--abc")
    assert wave["available"] is False and wave["suggested_fix"]["kind"] == "add_copy_mapping"
    _, mcr, _ = await check(mcp_client, image_uri="mcr.microsoft.com/dotnet/runtime:8.0")
    assert mcr["suggested_fix"]["tool"] == "CloneContainerToECR"
    _, hub, _ = await check(mcp_client, image_uri="ubuntu:22.04")
    assert hub["suggested_fix"]["arguments"]["upstream_registry"] == "docker-hub"


async def test_read_only_refuses_to_pull_through(mcp_client, quay_cache):
    is_error, out, _ = await check(
        mcp_client, "--read-only", image_uri="quay.io/test/amd64:1", initiate_pull_through=True
    )
    assert is_error and "--read-only" in out["error"]["message"]


async def test_unreadable_rules_are_an_error_for_upstream_references(mcp_client, quay_cache, admin):
    deny(admin, "ecr", "DescribePullThroughCacheRules", "no")
    is_error, out, _ = await check(mcp_client, image_uri="quay.io/test/amd64:1")
    assert is_error and "ecr:DescribePullThroughCacheRules" in out["error"]["remediation"]


async def test_a_missing_tag_upstream_is_named_not_retried(mcp_client, quay_cache):
    is_error, out, text = await check(mcp_client, image_uri="quay.io/test/amd64:9.9", initiate_pull_through=True)
    assert not is_error, text
    assert out["available"] is False
    assert "suggested_fix" not in out, "the call that just failed is not suggested again"
    assert "`9.9` does not exist on quay.io/test/amd64:9.9" in out["message"]


async def test_a_missing_repository_gets_a_next_step(mcp_client, ecr):
    is_error, out, text = await check(mcp_client, repository_name="no/such-repo", image_tag="1")
    assert not is_error, text
    assert out["suggested_fix"]["tool"] == "ListECRRepositories"
    assert "CloneContainerToECR" in out["message"] and "why" not in out
    ecr.create_repository(repositoryName="empty/repo")
    is_error, out, text = await check(mcp_client, repository_name="empty/repo", image_tag="1")
    assert not is_error, text
    assert out["message"].startswith("Image not found: empty/repo:1 (the repository exists).")
    assert 'copy it in with CloneContainerToECR (target_repository_name \"empty/repo\")' in out["message"]
    assert "suggested_fix" not in out["message"] and "suggested_fix" not in out
