"""CloneContainerToECR into a second repository of the same registry: the server remembers where it put each blob
and mounts it from there (POST ?mount=&from=) instead of uploading it again; where the testbed's ECR endpoint
will not mount (no image in that repository references the blob, as ECR), the copy uploads in the session the
registry opened."""

from account import calls
from mcp_harness import call

TOOL = "CloneContainerToECR"
WAVE = "community.wave.seqera.io"
SOURCE = f"{WAVE}/test/amd64:1"


def registry_delta(before: dict, after: dict) -> dict:
    return {op: after.get(op, 0) - before.get(op, 0) for op in set(before) | set(after)}


async def test_a_second_repository_mounts_every_blob_from_the_first(mcp_client, admin):
    async with mcp_client() as server:
        is_error, first, text = await call(server.session, TOOL, {"source_image": SOURCE, "target_repository_name": "a/amd64"})
        assert not is_error, text
        blobs = first["blobs_copied"]
        assert blobs >= 2 and first["bytes_transferred"] > 0

        before = calls(admin, "registry")
        is_error, second, text = await call(
            server.session, TOOL, {"source_image": SOURCE, "target_repository_name": "b/amd64"}
        )
        assert not is_error, text
        moved = registry_delta(before, calls(admin, "registry"))

    assert second["verified"] and second["ecr_digest"] == first["ecr_digest"]
    assert "bytes_transferred" not in second and "blobs_copied" not in second
    assert second["blobs_skipped"] == blobs, "mounted blobs are ones the copy did not send"
    assert moved.get("MountBlob", 0) == blobs
    assert moved.get("PatchBlob", 0) == 0 and moved.get("PutBlob", 0) == 0, moved


async def test_a_repository_without_the_image_falls_back_to_an_upload(mcp_client, admin):
    async with mcp_client() as server:
        # The first copy stores every blob in `a/amd64` but no manifest: ECR will not mount from there.
        admin(
            "faults",
            {
                "service": "registry",
                "operation": "PutManifest",
                "count": 1,
                "kind": "error",
                "error_code": "MANIFEST_INVALID",
                "http_status": 400,
                "message": "refused for the test",
            },
        )
        is_error, _, text = await call(server.session, TOOL, {"source_image": SOURCE, "target_repository_name": "a/amd64"})
        assert is_error, text

        before = calls(admin, "registry")
        is_error, second, text = await call(
            server.session, TOOL, {"source_image": SOURCE, "target_repository_name": "b/amd64"}
        )
        assert not is_error, text
        moved = registry_delta(before, calls(admin, "registry"))
        blobs = second["blobs_copied"]
        assert blobs >= 2 and second["bytes_transferred"] > 0 and second["verified"]
        # Each blob: one mount answered 202 with a session, which the upload then used (no second StartUpload).
        assert moved.get("MountBlob", 0) == blobs and moved.get("StartUpload", 0) == 0, moved
        assert moved.get("PutBlob", 0) == blobs, moved

        # `b/amd64` now holds the image: a third repository mounts from it.
        is_error, third, text = await call(
            server.session, TOOL, {"source_image": SOURCE, "target_repository_name": "c/amd64"}
        )
        assert not is_error, text
        assert "bytes_transferred" not in third and third["blobs_skipped"] == blobs
