"""CloneContainerToECR: the native registry-to-registry copy and the pull-through path, each image kind,
re-clones that move no bytes, interrupted copies, missing images and denied writes."""

import pytest
from account import calls, deny, put_registry_statements, registry_grant, usable_cache
from mcp_harness import call

TOOL = "CloneContainerToECR"
WAVE = "community.wave.seqera.io"


def upstream(testbed, host, name):
    return testbed.upstream_images[host][name]


def tag_digest(ecr, repository, tag):
    try:
        return ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"][0][
            "imageDigest"
        ]
    except (ecr.exceptions.ImageNotFoundException, ecr.exceptions.RepositoryNotFoundException):
        return None


async def clone(mcp_client, **args):
    async with mcp_client() as server:
        return await call(server.session, TOOL, args)


async def test_native_copy_creates_grants_and_verifies(mcp_client, testbed, ecr):
    source = f"{WAVE}/test/amd64:1"
    is_error, out, text = await clone(mcp_client, source_image=source)
    assert not is_error, text
    assert out["used_pull_through_cache"] is False and "method" not in out and "used_codebuild" not in out and "dry_run" not in out
    assert out["target_repository_name"] == "seqera-community/test/amd64"
    assert out["repository_created"] and out["verified"]
    assert out["healthomics_accessible"] == "accessible"
    digest = upstream(testbed, WAVE, "amd64")["digest"]
    assert out["ecr_digest"] == digest == tag_digest(ecr, "seqera-community/test/amd64", "1")
    assert out["ecr_uri"].endswith(f"seqera-community/test/amd64:1@{digest}")
    assert "image_mapping" not in out, "a single clone's mapping is source_image -> ecr_uri"
    assert any("credentialArn" in n for n in out["notes"]), "the HealthOmics copy alternative is named"
    # A second clone transfers no blob bytes.
    is_error, again, text = await clone(mcp_client, source_image=source)
    assert not is_error, text
    assert "bytes_transferred" not in again and "blobs_copied" not in again and again["blobs_skipped"] > 0
    assert again["repository_created"] is False


async def test_multi_arch_source_copies_its_amd64_image(mcp_client, testbed, ecr):
    is_error, out, text = await clone(
        mcp_client, source_image=f"{WAVE}/test/multiarch:1", target_repository_name="tools/multi"
    )
    assert not is_error, text
    assert out["platform"] == "linux/amd64"
    assert out["source_digest"] == upstream(testbed, WAVE, "multiarch")["digest"]
    assert out["ecr_digest"] != out["source_digest"], "the amd64 image, not the index"
    assert tag_digest(ecr, "tools/multi", "1") == out["ecr_digest"]


@pytest.mark.parametrize("image", ["arm64only", "arm64index"])
async def test_no_amd64_variant_is_refused_before_anything_is_written(mcp_client, ecr, admin, image):
    is_error, out, _ = await clone(mcp_client, source_image=f"{WAVE}/test/{image}:1")
    assert is_error and out["error"]["code"] == "invalid_input"
    assert "linux/amd64" in out["error"]["message"] and "Nothing was written" in out["error"]["message"]
    assert "CreateRepository" not in calls(admin) and "SetRepositoryPolicy" not in calls(admin)


@pytest.mark.parametrize("image,code", [("entrypoint", "entrypoint_set"), ("reserved-env", "reserved_env_prefix")])
async def test_container_rules_travel_with_the_copy(mcp_client, image, code):
    is_error, out, text = await clone(mcp_client, source_image=f"{WAVE}/test/{image}:1")
    assert not is_error, text
    assert code in {f["code"] for f in out.get("container_rule_findings", [])}


async def test_dry_run_changes_nothing(mcp_client, ecr, admin):
    is_error, out, text = await clone(mcp_client, source_image=f"{WAVE}/test/amd64:1", dry_run=True)
    assert not is_error, text
    assert out["dry_run"] and out["steps"] and out["ecr_uri"] is None if "ecr_uri" in out else True
    assert "CreateRepository" not in calls(admin)
    assert not ecr.describe_repositories()["repositories"]


async def test_an_interrupted_copy_leaves_no_tag_and_a_retry_succeeds(mcp_client, testbed, ecr, admin):
    admin(
        "faults",
        {
            "service": "registry",
            "operation": "PutBlob",
            "count": 3,
            "kind": "error",
            "error_code": "BLOB_UPLOAD_INVALID",
            "http_status": 500,
            "message": "disk full",
        },
    )
    is_error, out, _ = await clone(mcp_client, source_image=f"{WAVE}/test/amd64:1")
    assert is_error
    assert "created repository `seqera-community/test/amd64`" in out["error"]["message"]
    assert out["error"]["details"]["completed"][0].startswith("created repository")
    assert tag_digest(ecr, "seqera-community/test/amd64", "1") is None
    is_error, out, text = await clone(mcp_client, source_image=f"{WAVE}/test/amd64:1")
    assert not is_error, text
    assert out["verified"] and out["repository_created"] is False


async def test_missing_upstream_image(mcp_client, ecr):
    is_error, out, _ = await clone(mcp_client, source_image=f"{WAVE}/test/nope:1")
    assert is_error and out["error"]["code"] == "not_found"
    assert not ecr.describe_repositories()["repositories"]


async def test_denied_ecr_write_names_the_action(mcp_client, admin):
    deny(admin, "ecr", "CreateRepository", "no")
    is_error, out, _ = await clone(mcp_client, source_image=f"{WAVE}/test/amd64:1")
    assert is_error and out["error"]["code"] == "access_denied"
    assert "`ecr:CreateRepository`" in out["error"]["remediation"]


async def test_pull_through_path_fetches_the_source_tag_and_retags(mcp_client, testbed, ecr, admin):
    usable_cache(testbed, ecr, "quay", "quay.io")
    put_registry_statements(ecr, registry_grant(testbed, "quay"))
    is_error, out, text = await clone(mcp_client, source_image="quay.io/test/amd64:1", target_image_tag="pinned")
    assert not is_error, text
    assert out["used_pull_through_cache"] and out["pull_through_cache_prefix"] == "quay"
    assert out["repository_created"] is True and out["healthomics_accessible"] == "accessible"
    digest = upstream(testbed, "quay.io", "amd64")["digest"]
    assert out["ecr_digest"] == digest and out["verified"] is True, out["notes"]
    assert tag_digest(ecr, "quay/test/amd64", "1") == digest, "the source tag was fetched"
    assert tag_digest(ecr, "quay/test/amd64", "pinned") == digest
    assert calls(admin)["BatchImportUpstreamImage"] == 1


async def test_already_in_this_registry_points_to_grant(mcp_client, testbed):
    uri = f"{testbed.account_id}.dkr.ecr.{testbed.region}.amazonaws.com/tools/app:1"
    is_error, out, _ = await clone(mcp_client, source_image=uri)
    assert is_error and "GrantHealthOmicsRepositoryAccess" in out["error"]["remediation"]


async def test_progress_is_reported(mcp_client):
    seen = []

    async def on_progress(progress, total, message):
        seen.append((progress, total))

    async with mcp_client() as server:
        result = await server.session.call_tool(
            TOOL, {"source_image": f"{WAVE}/test/tmpfiles:1"}, progress_callback=on_progress
        )
    assert not result.is_error
    assert seen, "no progress notifications"
    assert [p for p, _ in seen] == sorted(p for p, _ in seen)


async def test_a_cache_not_yet_usable_by_healthomics_still_serves_the_clone(mcp_client, testbed, ecr):
    # The rule exists, but no registry grant and no template: HealthOmics cannot use it yet.
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    is_error, out, text = await clone(mcp_client, source_image="quay.io/test/amd64:1")
    assert not is_error, text
    assert out["used_pull_through_cache"] and out["pull_through_cache_prefix"] == "quay"
    assert out["healthomics_accessible"] == "accessible"
    note = next(n for n in out["notes"] if "cannot use it yet" in n)
    assert "CreatePullThroughCacheForHealthOmics" in note and '"quay"' in note
    assert tag_digest(ecr, "quay/test/amd64", "1") == upstream(testbed, "quay.io", "amd64")["digest"]
