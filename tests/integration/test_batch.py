"""Batches: CheckContainerAvailability with `images` or a `workflow_definition`, CloneContainerToECR with
`source_images`. Each image goes through the single-image path against real upstream registries; a failed image is
a row with its error and never hides the others; one progress stream covers every copy."""

import json

from account import OMICS, calls
from mcp_harness import call

CHECK = "CheckContainerAvailability"
CLONE = "CloneContainerToECR"
WAVE = "community.wave.seqera.io"


def upstream_digest(testbed, host, name):
    return testbed.upstream_images[host][name]["digest"]


async def run(mcp_client, tool, **args):
    async with mcp_client() as server:
        return await call(server.session, tool, args)


def rows_by_image(out, key="image"):
    return {row[key]: row for row in out["images"]}


async def test_a_mixed_check_batch_reports_every_image_and_the_failure_hides_none(mcp_client, testbed, quay_cache):
    images = ["quay.io/test/amd64:1", "NOT A REFERENCE", "ghcr.io/test/amd64:1", "quay.io/test/multiarch:1"]
    is_error, out, text = await run(mcp_client, CHECK, images=images, initiate_pull_through=True)
    assert not is_error, text
    assert [r["image"] for r in out["images"]] == images, "one row per image, in the order given"
    rows = rows_by_image(out)
    assert rows["quay.io/test/amd64:1"]["available"] and rows["quay.io/test/multiarch:1"]["available"]
    assert rows["quay.io/test/amd64:1"]["healthomics_accessible"] == "accessible"
    digest = upstream_digest(testbed, "quay.io", "amd64")
    assert rows["quay.io/test/amd64:1"]["ecr_image_uri"].endswith(f"quay/test/amd64:1@{digest}")
    assert "error" in rows["NOT A REFERENCE"] and rows["NOT A REFERENCE"]["available"] is False
    ghcr = rows["ghcr.io/test/amd64:1"]
    assert ghcr["available"] is False and "error" not in ghcr and ghcr["why"]
    assert out["counts"] == {"images": 4, "available": 2, "accessible": 2, "pulled": 2, "failed": 1}
    # The next call makes a cache for what no cache serves, named once for the batch.
    assert "Next: CreatePullThroughCacheForHealthOmics" in out["message"], out["message"]
    # The single-image fields are not repeated for a batch.
    assert "repository_name" not in out and "available" not in out


async def test_warming_several_cached_images_in_one_call(mcp_client, testbed, quay_cache, ecr, admin):
    images = ["quay.io/test/amd64:1", "quay.io/test/multiarch:1", "quay.io/test/entrypoint:1"]
    is_error, before, text = await run(mcp_client, CHECK, images=images)
    assert not is_error, text
    assert before["counts"]["available"] == 0 and before["counts"]["pulled"] == 0
    assert "initiate_pull_through" in before["message"], "the next call warms them all"
    assert not ecr.describe_repositories()["repositories"], "a check without initiate_pull_through writes nothing"

    admin("calls/reset")
    is_error, out, text = await run(mcp_client, CHECK, images=images, initiate_pull_through=True)
    assert not is_error, text
    assert out["counts"]["pulled"] == 3 and out["counts"]["available"] == 3
    made = calls(admin)
    assert made["BatchImportUpstreamImage"] == 3
    # The cache rules and the documents that judge them are read once for the whole batch.
    assert made["DescribePullThroughCacheRules"] == 1, made
    assert made["GetRegistryPolicy"] == 1 and made["DescribeRepositoryCreationTemplates"] == 1, made
    for row in out["images"]:
        assert row["done"] == "pulled through cache `quay`", row
    assert rows_by_image(out)["quay.io/test/entrypoint:1"]["rules"] == ["entrypoint_set"]
    names = {r["repositoryName"] for r in ecr.describe_repositories()["repositories"]}
    assert names == {"quay/test/amd64", "quay/test/multiarch", "quay/test/entrypoint"}


async def test_a_workflow_definition_is_checked_image_by_image(mcp_client, quay_cache, tmp_path):
    workflow = tmp_path / "main.nf"
    workflow.write_text(
        "process A {\n  container 'quay.io/test/amd64:1'\n  script: 'true'\n}\n"
        "process B {\n  container 'ghcr.io/test/amd64:1'\n  script: 'true'\n}\n"
        "process C {\n  container 'quay.io/test/amd64:1'\n  script: 'true'\n}\n"
    )
    is_error, out, text = await run(mcp_client, CHECK, workflow_definition=str(workflow))
    assert not is_error, text
    assert [r["image"] for r in out["images"]] == ["quay.io/test/amd64:1", "ghcr.io/test/amd64:1"]


async def test_one_image_and_a_batch_cannot_be_mixed(mcp_client):
    is_error, out, _ = await run(mcp_client, CHECK, image_uri="quay.io/test/amd64:1", images=["quay.io/x/y:1"])
    assert is_error and out["error"]["code"] == "invalid_input"
    is_error, out, _ = await run(
        mcp_client, CLONE, source_images=[f"{WAVE}/test/amd64:1"], target_repository_name="tools/x"
    )
    assert is_error and out["error"]["code"] == "invalid_input"


async def test_a_mixed_clone_batch_copies_the_others_and_says_what_changed(mcp_client, testbed, ecr):
    sources = [f"{WAVE}/test/amd64:1", f"{WAVE}/test/arm64only:1", f"{WAVE}/test/multiarch:1", f"{WAVE}/test/nope:1"]
    is_error, out, text = await run(mcp_client, CLONE, source_images=sources)
    assert not is_error, text
    assert out["success"] is False and out["counts"]["failed"] == 2 and out["counts"]["copied"] == 2
    rows = rows_by_image(out, "source_image")
    assert "linux/amd64" in rows[f"{WAVE}/test/arm64only:1"]["error"]
    assert "error" in rows[f"{WAVE}/test/nope:1"]
    copied = rows[f"{WAVE}/test/amd64:1"]
    digest = upstream_digest(testbed, WAVE, "amd64")
    assert copied["ecr_uri"].endswith(f"seqera-community/test/amd64:1@{digest}")
    assert copied["method"] == "registry_copy" and copied["bytes_transferred"] > 0
    assert any("created repository" in c for c in copied["changed"])
    assert out["bytes_transferred"] == sum(r["bytes_transferred"] for r in out["images"])
    mappings = {m["sourceImage"]: m["destinationImage"] for m in out["image_mappings"]}
    assert mappings == {s: rows[s]["ecr_uri"] for s in (f"{WAVE}/test/amd64:1", f"{WAVE}/test/multiarch:1")}
    names = {r["repositoryName"] for r in ecr.describe_repositories()["repositories"]}
    assert names == {"seqera-community/test/amd64", "seqera-community/test/multiarch"}, "refused images wrote nothing"


async def test_recloning_a_batch_copies_no_layer_bytes(mcp_client, testbed, admin):
    digest = upstream_digest(testbed, WAVE, "entrypoint")
    sources = [f"{WAVE}/test/amd64:1", f"{WAVE}/test/tmpfiles:1", f"{WAVE}/test/entrypoint@{digest}"]
    is_error, first, text = await run(mcp_client, CLONE, source_images=sources)
    assert not is_error, text
    assert first["success"] is True and first["counts"]["copied"] == 3 and first["bytes_transferred"] > 0
    pushed = calls(admin, "registry").get("PutBlob", 0)
    is_error, again, text = await run(mcp_client, CLONE, source_images=sources)
    assert not is_error, text
    assert again["bytes_transferred"] == 0 and again["counts"]["already_there"] == 3, again["images"]
    assert all(r["bytes_transferred"] == 0 for r in again["images"])
    assert calls(admin, "registry").get("PutBlob", 0) == pushed, "no blob was uploaded again"
    assert [m["destinationImage"] for m in again["image_mappings"]] == [r["ecr_uri"] for r in first["images"]]
    # The same image by digest after a copy by tag: already there, nothing copied.
    amd64 = upstream_digest(testbed, WAVE, "amd64")
    is_error, by_digest, text = await run(mcp_client, CLONE, source_images=[f"{WAVE}/test/amd64@{amd64}"])
    assert not is_error, text
    assert by_digest["bytes_transferred"] == 0 and by_digest["images"][0]["ecr_uri"].endswith(amd64)
    assert calls(admin, "registry").get("PutBlob", 0) == pushed


async def test_concurrent_clones_under_one_prefix_lose_no_policy_statement(mcp_client, ecr):
    names = ["amd64", "multiarch", "entrypoint", "tmpfiles", "reserved-env"]
    sources = [f"{WAVE}/test/{n}:1" for n in names]
    is_error, out, text = await run(mcp_client, CLONE, source_images=sources)
    assert not is_error, text
    assert out["success"] is True, out["images"]
    for name in names:
        text = ecr.get_repository_policy(repositoryName=f"seqera-community/test/{name}")["policyText"]
        statements = json.loads(text)["Statement"]
        assert any(s.get("Principal", {}).get("Service") == OMICS for s in statements), (name, statements)
    # Two batches at once into the same repositories: every repository keeps one HealthOmics statement.
    async with mcp_client() as server:
        import asyncio

        both = await asyncio.gather(
            call(server.session, CLONE, {"source_images": sources[:3]}),
            call(server.session, CLONE, {"source_images": sources[2:]}),
        )
    assert all(not is_error for is_error, _, _ in both)
    for name in names:
        statements = json.loads(ecr.get_repository_policy(repositoryName=f"seqera-community/test/{name}")["policyText"])
        omics = [s for s in statements["Statement"] if s.get("Principal", {}).get("Service") == OMICS]
        assert len(omics) == 1, (name, statements)


async def test_a_batch_dry_run_plans_every_image_and_changes_nothing(mcp_client, ecr, admin):
    sources = [f"{WAVE}/test/amd64:1", f"{WAVE}/test/multiarch:1"]
    is_error, out, text = await run(mcp_client, CLONE, source_images=sources, dry_run=True)
    assert not is_error, text
    assert out["dry_run"] is True and out["counts"]["copied"] == 2
    assert all(r["changed"] for r in out["images"]), "each row lists its planned steps"
    assert "CreateRepository" not in calls(admin) and not ecr.describe_repositories()["repositories"]


async def test_one_progress_stream_covers_the_whole_batch(mcp_client):
    seen = []

    async def on_progress(progress, total, message):
        seen.append((progress, total))

    sources = [f"{WAVE}/test/amd64:1", f"{WAVE}/test/tmpfiles:1", f"{WAVE}/test/multiarch:1"]
    async with mcp_client() as server:
        result = await server.session.call_tool(CLONE, {"source_images": sources}, progress_callback=on_progress)
    assert not result.is_error
    out = result.structured_content
    assert seen, "no progress notifications"
    assert [p for p, _ in seen] == sorted(p for p, _ in seen), "progress never goes back"
    # The last report adds up every image's bytes (config and manifest included in the totals).
    assert seen[-1][1] >= out["bytes_transferred"] > 0
    assert max(p for p, _ in seen) >= out["bytes_transferred"] * 0.5
