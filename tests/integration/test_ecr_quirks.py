"""The native copy against the testbed's ECR registry endpoint, which behaves as ECR does where ECR departs from the
distribution spec (tests/testbed/registry.py): PATCH answers 201, only an upload's first PATCH keeps its body, parts
under 5 MiB must be last, and a mount needs a manifest in the source repository that references the blob.

Every test reads the result back through the ECR API and the registry, down to each blob's sha256, because a client
that gets the quirks wrong fails late (a digest error) or, worse, stores a blob other than the one it meant to.
"""

import base64
import hashlib
import json
import os
import urllib.request

from account import calls
from mcp_harness import call

import oci_images

TOOL = "CloneContainerToECR"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
MIB = 1024 * 1024
# A host of no registry: the server reaches it only through the mirror a test sets up.
MIRROR_HOST = "mirror.example.com"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def big_multi_layer_image() -> oci_images.Image:
    """Three layers: 7 MiB of random bytes (gzip cannot shrink it below ECR's 5 MiB part size), then two small."""
    extra = [
        oci_images.make_layer({"opt/": b"", "opt/tool.txt": b"a small layer\n"}),
        oci_images.make_layer({"etc/": b"", "etc/conf": os.urandom(64 * 1024)}),
    ]
    image = oci_images.build_image("amd64", files={"data/": b"", "data/blob.bin": os.urandom(7 * MIB)}, extra_layers=extra)
    assert len(image.layers[0]) > 5 * MIB and len(image.layers) == 3
    return image


def registry_password(ecr) -> str:
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    return base64.b64decode(token).decode().partition(":")[2]


def assert_copied(ecr, repository: str, tag: str, image: oci_images.Image) -> None:
    """The ECR image is `image`: same manifest digest, and every blob present with its size and its sha256."""
    detail = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"][0]
    assert detail["imageDigest"] == image.digest
    got = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}])["images"][0]
    assert got["imageManifest"].encode() == image.manifest, "the manifest bytes are kept"
    blobs = image.blobs()
    layers = ecr.batch_check_layer_availability(repositoryName=repository, layerDigests=[sha256(b) for b in blobs])
    assert layers["failures"] == []
    assert {(x["layerDigest"], x["layerSize"]) for x in layers["layers"]} == {(sha256(b), len(b)) for b in blobs}
    for blob in blobs:
        url = ecr.get_download_url_for_layer(repositoryName=repository, layerDigest=sha256(blob))["downloadUrl"]
        with OPENER.open(url, timeout=60) as response:
            assert sha256(response.read()) == sha256(blob)


def seed_in_ecr(testbed, ecr, repository: str, image: oci_images.Image) -> None:
    """Pushes `image` as `repository:1` into the testbed's ECR (as docker push would, monolithic blob uploads)."""
    ecr.create_repository(repositoryName=repository)
    oci_images.Registry(testbed.registry_endpoint, "AWS", registry_password(ecr)).push_image(repository, "1", image)


async def clone_through_mirror(mcp_client, testbed, sm, ecr, **args):
    """Clones `mirror.example.com/...`, served by this same ECR registry (read with an ECR token kept in a secret):
    a copy between two repositories of one registry, so cross-repository mounts apply."""
    secret = sm.create_secret(
        Name="registry/self", SecretString=json.dumps({"username": "AWS", "accessToken": registry_password(ecr)})
    )["ARN"]
    env = {"HEALTHOMICS_ECR_REGISTRY_MIRRORS": f"{MIRROR_HOST}={testbed.registry_endpoint}"}
    async with mcp_client(env=env) as server:
        return await call(server.session, TOOL, {"source_credential_arn": secret, **args})


async def test_a_multi_layer_image_with_a_big_layer_copies_in_one_patch_per_blob(mcp_client, testbed, ecr, admin):
    image = big_multi_layer_image()
    oci_images.Registry(testbed.upstreams["quay.io"]).push_image("quirks/big", "1", image)
    admin("calls/reset")
    async with mcp_client() as server:
        is_error, out, text = await call(server.session, TOOL, {"source_image": "quay.io/quirks/big:1"})
    assert not is_error, text
    assert out["used_pull_through_cache"] is False and out["verified"]
    assert out["ecr_digest"] == image.digest
    assert out["blobs_copied"] == 4 and out["bytes_transferred"] == sum(len(b) for b in image.blobs())
    assert_copied(ecr, out["target_repository_name"], "1", image)
    made = calls(admin, "registry")
    assert made["PatchBlob"] == made["PutBlob"] == 4, made  # ECR keeps one PATCH per session: one per blob


async def test_a_copy_within_the_registry_mounts_what_a_manifest_references(mcp_client, testbed, sm, ecr, admin):
    image = big_multi_layer_image()
    seed_in_ecr(testbed, ecr, "tools/base", image)
    admin("calls/reset")
    is_error, out, text = await clone_through_mirror(
        mcp_client, testbed, sm, ecr, source_image=f"{MIRROR_HOST}/tools/base:1", target_repository_name="tools/copy"
    )
    assert not is_error, text
    assert out["verified"] and out["ecr_digest"] == image.digest
    assert out.get("bytes_transferred", 0) == 0 and out.get("blobs_copied", 0) == 0
    made = calls(admin, "registry")
    assert made["MountBlob"] == 4 and "PatchBlob" not in made and "PutBlob" not in made, made
    assert_copied(ecr, "tools/copy", "1", image)


async def test_server_errors_on_blob_reads_and_writes_are_retried(mcp_client, testbed, sm, ecr, admin):
    image = big_multi_layer_image()
    seed_in_ecr(testbed, ecr, "tools/base", image)
    admin("calls/reset")
    server_error = {"service": "registry", "kind": "error", "error_code": "INTERNAL", "http_status": 500}
    # Mounts refused by policy make the copy read every blob from the source and upload it.
    admin("faults", {"service": "registry", "operation": "MountBlob", "count": 4, "kind": "error",
                     "error_code": "AccessDeniedException", "message": "no mounts"})
    admin("faults", {**server_error, "operation": "GetBlob", "count": 1, "message": "read failed"})
    admin("faults", {**server_error, "operation": "PutBlob", "count": 1, "message": "write failed"})
    admin("faults", {"service": "registry", "operation": "HeadBlob", "count": 1, "kind": "throttle"})
    is_error, out, text = await clone_through_mirror(
        mcp_client, testbed, sm, ecr, source_image=f"{MIRROR_HOST}/tools/base:1", target_repository_name="tools/copy"
    )
    assert not is_error, text
    assert out["verified"] and out["ecr_digest"] == image.digest and out["blobs_copied"] == 4
    assert_copied(ecr, "tools/copy", "1", image)
    made = calls(admin, "registry")
    assert not admin("faults")["faults"], "every fault was hit"
    assert made["PutBlob"] == 5, made  # the failed commit, then the blob again in a new session
    assert made["PatchBlob"] == 5, made


async def test_a_denied_push_is_a_permission_refusal(mcp_client, testbed, ecr, admin):
    oci_images.Registry(testbed.upstreams["quay.io"]).push_image("quirks/small", "1", oci_images.build_image())
    admin("faults", {"service": "registry", "operation": "PutManifest", "kind": "error",
                     "error_code": "AccessDeniedException", "message": "explicit deny"})
    async with mcp_client() as server:
        is_error, out, _ = await call(server.session, TOOL, {"source_image": "quay.io/quirks/small:1"})
    assert is_error
    message = out["error"]["message"]
    assert "permission refused by" in message and "ecr:PutImage" in message, message
    assert "network" not in out["error"]["remediation"].lower(), out["error"]


async def test_a_server_error_that_outlasts_the_retries_is_reported_as_one(mcp_client, testbed, ecr, admin):
    oci_images.Registry(testbed.upstreams["quay.io"]).push_image("quirks/small", "1", oci_images.build_image())
    admin("faults", {"service": "registry", "operation": "PutManifest", "count": 4, "kind": "error",
                     "error_code": "INTERNAL_ERROR", "http_status": 500, "message": "the service failed"})
    async with mcp_client() as server:
        is_error, out, _ = await call(server.session, TOOL, {"source_image": "quay.io/quirks/small:1"})
    assert is_error
    message = out["error"]["message"]
    assert "upstream server error" in message and "HTTP 500" in message and "network" not in message, message
    assert "network" not in out["error"]["remediation"].lower() and out["error"]["code"] == "aws_error", out["error"]
    assert calls(admin, "registry")["PutManifest"] == 4, "4 attempts, then the error"
    assert not admin("faults")["faults"]
