"""The testbed's ECR registry endpoint (OCI distribution API), its pull-through cache and its upstream registries,
driven over HTTP and boto3 as a registry client and an AWS client would drive them.

The pull-through tests need Debian's docker-registry (`apt-get install docker-registry`): without it they fail and
say so; every other test here runs without it. The endpoint has ECR's departures from the distribution spec (see
registry.py): a PATCH answers 201, only an upload's first PATCH keeps its body, parts under 5 MiB must be last, and a
mount needs a manifest referencing the blob; "ECR quirks" below tests each.
"""

import base64
import gzip
import hashlib
import io
import json
import tarfile
import time
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

import oci_images
import upstreams
from harness import AdminError, Testbed

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "HealthOmics",
                "Effect": "Allow",
                "Principal": {"Service": "omics.amazonaws.com"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            }
        ],
    }
)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# A registry client that can also do what oci_images.Registry does not (chunks, errors, raw replies)


class Reply:
    def __init__(self, status: int, headers, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def error_codes(self) -> list[str]:
        return [e["code"] for e in self.json()["errors"]]


class Client:
    """Talks the distribution API to one registry, with an optional Authorization header."""

    def __init__(self, base_url: str, authorization: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.authorization = authorization

    def call(self, method: str, path: str, data: bytes | None = None, headers: dict | None = None) -> Reply:
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        headers = dict(headers or {})
        if data is not None:  # not urllib's form type: Go registries would parse the body as a form
            headers.setdefault("Content-Type", "application/octet-stream")
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        if self.authorization:
            request.add_unredirected_header("Authorization", self.authorization)
        try:
            with OPENER.open(request, timeout=30) as response:
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return Reply(exc.code, exc.headers, exc.read())

    def push_blob(self, repository: str, data: bytes, chunks: int = 0) -> str:
        """Uploads a blob in one PUT (chunks=0) or in `chunks` PATCHes (ECR keeps only the first PATCH's body, so
        more than one fails the digest check there); returns its digest."""
        digest = sha256(data)
        reply = self.call("POST", f"/v2/{repository}/blobs/uploads/")
        assert reply.status == 202, reply.body
        location = reply.headers["Location"]
        if chunks == 0:
            reply = self.call("PUT", f"{location}{'&' if '?' in location else '?'}digest={digest}", data)
            assert reply.status == 201, reply.body
            return digest
        step = max(1, -(-len(data) // chunks))
        for start in range(0, len(data), step):
            part = data[start : start + step]
            reply = self.call(
                "PATCH",
                location,
                part,
                {"Content-Range": f"{start}-{start + len(part) - 1}", "Content-Type": "application/octet-stream"},
            )
            assert reply.status in (201, 202), reply.body  # 201 from ECR, 202 from a registry that follows the spec
            assert reply.headers["Range"] == f"0-{start + len(part) - 1}"
            location = reply.headers["Location"]
        separator = "&" if "?" in location else "?"
        reply = self.call("PUT", f"{location}{separator}digest={digest}", b"")
        assert reply.status == 201, reply.body
        assert reply.headers["Docker-Content-Digest"] == digest
        return digest

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> Reply:
        return self.call("PUT", f"/v2/{repository}/manifests/{reference}", body, {"Content-Type": media_type})

    def get_manifest(self, repository: str, reference: str, method: str = "GET") -> Reply:
        accept = ", ".join([DOCKER_MANIFEST, OCI_MANIFEST, OCI_INDEX])
        return self.call(method, f"/v2/{repository}/manifests/{reference}", headers={"Accept": accept})


def layer(text: str) -> bytes:
    """A gzipped tar with one file."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = text.encode()
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), mtime=0)


def push_image(client: Client, repository: str, tag: str | None, arch: str = "amd64", media_type=OCI_MANIFEST):
    """Pushes a one-layer image; returns (manifest bytes, digest, layer bytes)."""
    config = json.dumps({"architecture": arch, "os": "linux", "rootfs": {"type": "layers"}}).encode()
    blob = layer(f"{repository} {arch} {tag}")
    config_type = (
        "application/vnd.oci.image.config.v1+json"
        if media_type == OCI_MANIFEST
        else ("application/vnd.docker.container.image.v1+json")
    )
    layer_type = (
        "application/vnd.oci.image.layer.v1.tar+gzip"
        if media_type == OCI_MANIFEST
        else ("application/vnd.docker.image.rootfs.diff.tar.gzip")
    )
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": config_type, "digest": client.push_blob(repository, config), "size": len(config)},
            "layers": [{"mediaType": layer_type, "digest": client.push_blob(repository, blob, 1), "size": len(blob)}],
        },
        indent=1,
    ).encode()
    digest = sha256(manifest)
    reply = client.put_manifest(repository, tag or digest, manifest, media_type)
    assert reply.status == 201, reply.body
    assert reply.headers["Docker-Content-Digest"] == digest
    return manifest, digest, blob


def push_index(client: Client, repository: str, tag: str, arches=("amd64", "arm64")):
    """Pushes a multi-arch OCI index (children by digest); returns (index bytes, digest, child digests)."""
    children = []
    for arch in arches:
        manifest, digest, _ = push_image(client, repository, None, arch)
        children.append(
            {
                "mediaType": OCI_MANIFEST,
                "digest": digest,
                "size": len(manifest),
                "platform": {"os": "linux", "architecture": arch},
            }
        )
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}).encode()
    reply = client.put_manifest(repository, tag, index, OCI_INDEX)
    assert reply.status == 201, reply.body
    return index, sha256(index), [c["digest"] for c in children]


@pytest.fixture
def registry(testbed, ecr) -> Client:
    """A client of the testbed's registry endpoint, logged in with GetAuthorizationToken."""
    data = ecr.get_authorization_token()["authorizationData"][0]
    return Client(data["proxyEndpoint"], "Basic " + data["authorizationToken"])


def expect_error(code: str, operation, **params) -> ClientError:
    with pytest.raises(ClientError) as info:
        operation(**params)
    assert info.value.response["Error"]["Code"] == code, info.value.response
    return info.value


# Authentication


def test_authorization_token_works_with_the_endpoint(testbed, ecr):
    data = ecr.get_authorization_token()["authorizationData"][0]
    assert data["proxyEndpoint"] == testbed.aws_endpoint == testbed.registry_endpoint
    assert data["expiresAt"].timestamp() > time.time() + 11 * 3600
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS" and password

    anonymous = Client(testbed.aws_endpoint).call("GET", "/v2/")
    assert anonymous.status == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert anonymous.error_codes == ["UNAUTHORIZED"]
    forged = base64.b64encode(b"AWS:" + password[:-1].encode() + b"x").decode()
    assert Client(testbed.aws_endpoint, f"Basic {forged}").call("GET", "/v2/").status == 401
    assert Client(testbed.aws_endpoint, "Basic " + data["authorizationToken"]).call("GET", "/v2/").status == 200
    assert Client(testbed.aws_endpoint).call("GET", "/v2/repo/manifests/latest").status == 401


# Push and pull


def test_push_pull_round_trip_is_visible_to_the_ecr_api(testbed, ecr, registry):
    name = "team/tools/samtools"
    ecr.create_repository(repositoryName=name)
    manifest, digest, blob = push_image(registry, name, "1.19", media_type=DOCKER_MANIFEST)

    for reference in ("1.19", digest):
        got = registry.get_manifest(name, reference)
        assert got.status == 200
        assert got.body == manifest
        assert got.headers["Content-Type"] == DOCKER_MANIFEST
        assert got.headers["Docker-Content-Digest"] == digest
    head = registry.get_manifest(name, "1.19", method="HEAD")
    assert (head.status, head.body, head.headers["Content-Length"]) == (200, b"", str(len(manifest)))

    detail = ecr.describe_images(repositoryName=name)["imageDetails"]
    assert [(d["imageDigest"], d["imageTags"]) for d in detail] == [(digest, ["1.19"])]
    assert detail[0]["imageSizeInBytes"] == len(blob)
    assert detail[0]["imageManifestMediaType"] == DOCKER_MANIFEST
    images = ecr.batch_get_image(repositoryName=name, imageIds=[{"imageTag": "1.19"}])["images"]
    assert images[0]["imageManifest"] == manifest.decode() and images[0]["imageId"]["imageDigest"] == digest

    layer_digest = sha256(blob)
    layers = ecr.batch_check_layer_availability(repositoryName=name, layerDigests=[layer_digest])["layers"]
    assert layers[0]["layerAvailability"] == "AVAILABLE" and layers[0]["layerSize"] == len(blob)
    # A blob GET redirects to a download URL, as ECR redirects to S3; the client follows it.
    redirect = urllib.request.Request(f"{registry.base_url}/v2/{name}/blobs/{layer_digest}")
    redirect.add_header("Authorization", registry.authorization)
    with OPENER.open(redirect) as response:
        assert response.url != redirect.full_url and response.read() == blob
    head = registry.call("HEAD", f"/v2/{name}/blobs/{layer_digest}")
    assert (head.status, head.headers["Content-Length"]) == (200, str(len(blob)))
    url = ecr.get_download_url_for_layer(repositoryName=name, layerDigest=layer_digest)["downloadUrl"]
    assert Client(url).call("GET", url).body == blob  # presigned: no auth
    assert Client(url).call("GET", url, headers={"Range": "bytes=2-5"}).body == blob[2:6]
    expect_error(
        "LayersNotFoundException", ecr.get_download_url_for_layer, repositoryName=name, layerDigest=sha256(b"x")
    )
    assert registry.call("GET", f"/v2/{name}/tags/list").json() == {"name": name, "tags": ["1.19"]}
    ecr.put_image(repositoryName=name, imageManifest=manifest.decode(), imageTag="latest")
    first = registry.call("GET", f"/v2/{name}/tags/list?n=1")
    assert first.json()["tags"] == ["1.19"] and 'rel="next"' in first.headers["Link"]
    assert registry.call("GET", f"/v2/{name}/tags/list?n=1&last=1.19").json()["tags"] == ["latest"]


def test_push_index_keeps_children_untagged(ecr, registry):
    ecr.create_repository(repositoryName="multi")
    index, digest, children = push_index(registry, "multi", "v1")
    got = registry.get_manifest("multi", "v1")
    assert (got.body, got.headers["Content-Type"], got.headers["Docker-Content-Digest"]) == (index, OCI_INDEX, digest)
    listed = ecr.list_images(repositoryName="multi")["imageIds"]
    assert sorted((i["imageDigest"], i.get("imageTag")) for i in listed) == sorted(
        [(digest, "v1"), *((c, None) for c in children)]
    )
    sizes = {
        d["imageDigest"]: d["imageSizeInBytes"] for d in ecr.describe_images(repositoryName="multi")["imageDetails"]
    }
    assert sizes[digest] == max(sizes[c] for c in children) > 0


def test_manifest_put_is_checked(ecr, registry):
    ecr.create_repository(repositoryName="repo")
    missing_blob = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(b"{}"), "size": 2},
            "layers": [],
        }
    ).encode()
    assert registry.put_manifest("repo", "v1", missing_blob, OCI_MANIFEST).error_codes == ["MANIFEST_BLOB_UNKNOWN"]
    registry.push_blob("repo", b"{}")
    assert registry.put_manifest("repo", sha256(b"other"), missing_blob, OCI_MANIFEST).error_codes == ["DIGEST_INVALID"]
    assert registry.put_manifest("repo", "v1", b"not json", OCI_MANIFEST).error_codes == ["MANIFEST_INVALID"]
    assert registry.put_manifest("repo", "v1", missing_blob, DOCKER_MANIFEST).error_codes == ["MANIFEST_INVALID"]
    assert registry.put_manifest("repo", "v1", missing_blob, OCI_MANIFEST).status == 201
    assert registry.put_manifest("repo", "v1", missing_blob, OCI_MANIFEST).status == 201  # idempotent
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": sha256(b"nope"), "size": 4}],
        }
    ).encode()
    assert registry.put_manifest("repo", "multi", index, OCI_INDEX).error_codes == ["MANIFEST_BLOB_UNKNOWN"]


def test_a_moved_tag_leaves_the_old_image_untagged(ecr, registry):
    ecr.create_repository(repositoryName="repo")
    _, first, _ = push_image(registry, "repo", "latest", "amd64")
    _, second, _ = push_image(registry, "repo", "latest", "arm64")
    listed = {(i["imageDigest"], i.get("imageTag")) for i in ecr.list_images(repositoryName="repo")["imageIds"]}
    assert listed == {(first, None), (second, "latest")}
    assert registry.call("DELETE", f"/v2/repo/manifests/{first}").status == 202
    assert registry.get_manifest("repo", first).error_codes == ["MANIFEST_UNKNOWN"]


def test_errors_are_oci_documents(ecr, registry):
    missing = registry.get_manifest("nothing/here", "latest")
    assert (missing.status, missing.error_codes) == (404, ["NAME_UNKNOWN"])
    assert registry.call("POST", "/v2/nothing/here/blobs/uploads/").error_codes == ["NAME_UNKNOWN"]
    ecr.create_repository(repositoryName="repo")
    assert registry.get_manifest("repo", "latest").error_codes == ["MANIFEST_UNKNOWN"]
    assert registry.get_manifest("repo", "sha256:abc").error_codes == ["DIGEST_INVALID"]
    assert registry.get_manifest("Bad_Name", "latest").error_codes == ["NAME_INVALID"]
    assert registry.call("GET", f"/v2/repo/blobs/{sha256(b'x')}").error_codes == ["BLOB_UNKNOWN"]
    assert registry.call("HEAD", f"/v2/repo/blobs/{sha256(b'x')}").status == 404
    assert registry.call("PATCH", "/v2/repo/blobs/uploads/nope", b"x").error_codes == ["BLOB_UPLOAD_UNKNOWN"]


def test_put_image_is_pullable_and_has_the_manifest_digest(ecr, registry):
    ecr.create_repository(repositoryName="repo")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "digest": sha256(b"c"),
                "size": 1,
            },
            "layers": [],
        }
    )
    image = ecr.put_image(repositoryName="repo", imageManifest=manifest, imageTag="api")["image"]
    assert image["imageId"]["imageDigest"] == sha256(manifest.encode())
    got = registry.get_manifest("repo", "api")
    assert (got.body, got.headers["Docker-Content-Digest"]) == (manifest.encode(), sha256(manifest.encode()))
    expect_error(
        "ImageAlreadyExistsException", ecr.put_image, repositoryName="repo", imageManifest=manifest, imageTag="api"
    )
    expect_error(
        "ImageDigestDoesNotMatchException",
        ecr.put_image,
        repositoryName="repo",
        imageManifest=manifest,
        imageTag="other",
        imageDigest=sha256(b"x"),
    )


# Uploads


def test_upload_digest_is_verified(testbed, ecr, registry):
    ecr.create_repository(repositoryName="repo")
    start = registry.call("POST", "/v2/repo/blobs/uploads/")
    location = start.headers["Location"]
    assert registry.call("PATCH", location, b"hello", {"Content-Range": "0-4"}).status == 201
    wrong = registry.call("PUT", f"{location}?digest={sha256(b'goodbye')}", b"")
    assert (wrong.status, wrong.error_codes) == (400, ["DIGEST_INVALID"])
    assert registry.call("HEAD", f"/v2/repo/blobs/{sha256(b'goodbye')}").status == 404
    assert registry.call("GET", location).error_codes == ["BLOB_UPLOAD_UNKNOWN"]  # the session is gone

    monolithic = registry.call("POST", f"/v2/repo/blobs/uploads/?digest={sha256(b'other')}", b"hello")
    assert (monolithic.status, monolithic.error_codes) == (400, ["DIGEST_INVALID"])
    monolithic = registry.call("POST", f"/v2/repo/blobs/uploads/?digest={sha256(b'hello')}", b"hello")
    assert (monolithic.status, monolithic.headers["Docker-Content-Digest"]) == (201, sha256(b"hello"))
    assert registry.call("HEAD", f"/v2/repo/blobs/{sha256(b'hello')}").status == 200

    location = registry.call("POST", "/v2/repo/blobs/uploads/").headers["Location"]
    registry.call("PATCH", location, b"abc", {"Content-Range": "0-2"})
    gap = registry.call("PATCH", location, b"def", {"Content-Range": "5-7"})
    assert (gap.status, gap.headers["Range"]) == (416, "0-2")
    status = registry.call("GET", location)
    assert (status.status, status.headers["Range"]) == (204, "0-2")
    assert registry.call("PUT", f"{location}?digest={sha256(b'abc')}", b"").status == 201
    assert registry.call("HEAD", f"/v2/repo/blobs/{sha256(b'abc')}").headers["Content-Length"] == "3"
    assert testbed.admin("registry")["uploads_in_progress"] == 0


def test_cross_repository_mount(ecr, registry):
    for name in ("source", "target"):
        ecr.create_repository(repositoryName=name)
    _, _, blob = push_image(registry, "source", "v1")
    digest = sha256(blob)
    mounted = registry.call("POST", f"/v2/target/blobs/uploads/?mount={digest}&from=source")
    assert (mounted.status, mounted.headers["Docker-Content-Digest"]) == (201, digest)
    assert registry.call("HEAD", f"/v2/target/blobs/{digest}").status == 200
    fallback = registry.call("POST", f"/v2/target/blobs/uploads/?mount={sha256(b'absent')}&from=source")
    assert fallback.status == 202 and "/blobs/uploads/" in fallback.headers["Location"]
    unknown_source = registry.call("POST", f"/v2/target/blobs/uploads/?mount={digest}&from=nothing/here")
    assert unknown_source.status == 202


def test_layer_upload_through_the_ecr_api_is_verified_and_pullable(ecr, registry):
    ecr.create_repository(repositoryName="repo")
    upload = ecr.initiate_layer_upload(repositoryName="repo")["uploadId"]
    ecr.upload_layer_part(
        repositoryName="repo", uploadId=upload, partFirstByte=0, partLastByte=4, layerPartBlob=b"layer"
    )
    expect_error(
        "InvalidLayerException",
        ecr.complete_layer_upload,
        repositoryName="repo",
        uploadId=upload,
        layerDigests=[sha256(b"x")],
    )
    done = ecr.complete_layer_upload(repositoryName="repo", uploadId=upload, layerDigests=[sha256(b"layer")])
    assert done["layerDigest"] == sha256(b"layer")
    assert registry.call("HEAD", f"/v2/repo/blobs/{sha256(b'layer')}").status == 200


# ECR quirks


def _start(registry: Client, repository: str) -> str:
    reply = registry.call("POST", f"/v2/{repository}/blobs/uploads/")
    assert reply.status == 202, reply.body
    return reply.headers["Location"]


def test_a_patch_answers_201_and_the_upload_stays_open(ecr, registry):
    ecr.create_repository(repositoryName="repo")
    location = _start(registry, "repo")
    patched = registry.call("PATCH", location, b"hello", {"Content-Range": "0-4"})
    assert (patched.status, patched.headers["Range"]) == (201, "0-4")
    assert patched.headers["Location"].endswith(location.rsplit("/", 1)[1])
    status = registry.call("GET", patched.headers["Location"])
    assert (status.status, status.headers["Range"]) == (204, "0-4")
    done = registry.call("PUT", f"{patched.headers['Location']}?digest={sha256(b'hello')}", b"")
    assert (done.status, done.headers["Docker-Content-Digest"]) == (201, sha256(b"hello"))


def test_only_the_first_patch_of_an_upload_keeps_its_body(testbed, ecr, registry):
    ecr.create_repository(repositoryName="repo")
    first, second = b"a" * (5 * 1024 * 1024), b"tail"
    location = _start(registry, "repo")
    assert registry.call("PATCH", location, first, {"Content-Range": f"0-{len(first) - 1}"}).status == 201
    # Answered as if taken: 201 and a Range that covers it, though the bytes are dropped.
    end = len(first) + len(second) - 1
    silent = registry.call("PATCH", location, second, {"Content-Range": f"{len(first)}-{end}"})
    assert (silent.status, silent.headers["Range"]) == (201, f"0-{end}")
    whole = registry.call("PUT", f"{location}?digest={sha256(first + second)}", b"")
    assert (whole.status, whole.error_codes) == (400, ["DIGEST_INVALID"])
    assert sha256(first) in whole.json()["errors"][0]["message"], "what was kept is the first PATCH alone"
    assert registry.call("HEAD", f"/v2/repo/blobs/{sha256(first + second)}").status == 404

    # One PATCH with the whole blob, or the blob in the PUT itself, is what works.
    assert registry.push_blob("repo", first + second, chunks=1) == sha256(first + second)
    assert registry.push_blob("repo", b"monolithic") == sha256(b"monolithic")
    assert testbed.admin("registry")["uploads_in_progress"] == 0


def test_a_part_under_5_mib_must_be_the_last(ecr, registry):
    ecr.create_repository(repositoryName="repo")
    small = b"s" * (1024 * 1024)
    location = _start(registry, "repo")
    assert registry.call("PATCH", location, small, {"Content-Range": f"0-{len(small) - 1}"}).status == 201
    refused = registry.call("PATCH", location, b"more", {"Content-Range": f"{len(small)}-{len(small) + 3}"})
    assert (refused.status, refused.error_codes) == (400, ["LayerPartTooSmallException"])
    refused = registry.call("PUT", f"{location}?digest={sha256(small + b'more')}", b"more")
    assert (refused.status, refused.error_codes) == (400, ["LayerPartTooSmallException"])
    # As the last part it is fine: the completing PUT brings no more bytes.
    assert registry.call("PUT", f"{location}?digest={sha256(small)}", b"").status == 201

    # The PUT's body is a part too: after a part of 5 MiB it may be small.
    big = b"b" * (5 * 1024 * 1024)
    location = _start(registry, "repo")
    assert registry.call("PATCH", location, big, {"Content-Range": f"0-{len(big) - 1}"}).status == 201
    assert registry.call("PUT", f"{location}?digest={sha256(big + b'end')}", b"end").status == 201


def test_a_mount_needs_a_manifest_referencing_the_blob(ecr, registry):
    for name in ("source", "target"):
        ecr.create_repository(repositoryName=name)
    data = b"stored, referenced by no manifest"
    digest = registry.push_blob("source", data)
    assert registry.call("HEAD", f"/v2/source/blobs/{digest}").status == 200
    fallback = registry.call("POST", f"/v2/target/blobs/uploads/?mount={digest}&from=source")
    assert fallback.status == 202 and "/blobs/uploads/" in fallback.headers["Location"]
    assert registry.call("HEAD", f"/v2/target/blobs/{digest}").status == 404
    # The fallback is a usable upload session.
    separator = "&" if "?" in fallback.headers["Location"] else "?"
    assert registry.call("PUT", f"{fallback.headers['Location']}{separator}digest={digest}", data).status == 201

    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest, "size": len(data)},
            "layers": [],
        }
    ).encode()
    assert registry.put_manifest("source", "v1", manifest, OCI_MANIFEST).status == 201
    ecr.create_repository(repositoryName="other")
    mounted = registry.call("POST", f"/v2/other/blobs/uploads/?mount={digest}&from=source")
    assert (mounted.status, mounted.headers["Docker-Content-Digest"]) == (201, digest)


def test_a_policy_refusal_is_403_denied(testbed, ecr, registry):
    ecr.create_repository(repositoryName="repo")
    for operation, action in (("PutManifest", "ecr:PutImage"), ("StartUpload", "ecr:InitiateLayerUpload")):
        testbed.admin(
            "faults",
            {
                "service": "registry",
                "operation": operation,
                "kind": "error",
                "error_code": "AccessDeniedException",
                "message": "explicit deny in a repository policy",
            },
        )
    refused = registry.put_manifest("repo", "v1", b"{}", OCI_MANIFEST)
    assert (refused.status, refused.error_codes) == (403, ["DENIED"])
    message = refused.json()["errors"][0]["message"]
    assert "is not authorized to perform: ecr:PutImage" in message
    assert f"arn:aws:ecr:{testbed.region}:{testbed.account_id}:repository/repo" in message
    refused = registry.call("POST", "/v2/repo/blobs/uploads/")
    assert (refused.status, refused.error_codes) == (403, ["DENIED"])
    assert "ecr:InitiateLayerUpload" in refused.json()["errors"][0]["message"]
    assert registry.call("POST", "/v2/repo/blobs/uploads/").status == 202, "a fault is used up"


# Create on push


def test_create_on_push_applies_the_template(ecr, registry):
    assert registry.call("POST", "/v2/pushed/app/blobs/uploads/").error_codes == ["NAME_UNKNOWN"]
    ecr.create_repository_creation_template(prefix="cached", appliedFor=["PULL_THROUGH_CACHE"])
    assert registry.call("POST", "/v2/cached/app/blobs/uploads/").error_codes == ["NAME_UNKNOWN"]
    ecr.create_repository_creation_template(
        prefix="pushed",
        appliedFor=["CREATE_ON_PUSH"],
        repositoryPolicy=POLICY,
        imageTagMutability="IMMUTABLE",
        resourceTags=[{"Key": "team", "Value": "genomics"}],
    )
    _, digest, _ = push_image(registry, "pushed/app", "v1")
    repository = ecr.describe_repositories(repositoryNames=["pushed/app"])["repositories"][0]
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert json.loads(ecr.get_repository_policy(repositoryName="pushed/app")["policyText"]) == json.loads(POLICY)
    assert ecr.list_tags_for_resource(resourceArn=repository["repositoryArn"])["tags"] == [
        {"Key": "team", "Value": "genomics"}
    ]
    assert ecr.list_images(repositoryName="pushed/app")["imageIds"] == [{"imageDigest": digest, "imageTag": "v1"}]
    # The tag is immutable: pushing another image under it is refused.
    manifest = registry.get_manifest("pushed/app", "v1").json()
    manifest["annotations"] = {"changed": "yes"}
    reply = registry.put_manifest("pushed/app", "v1", json.dumps(manifest).encode(), OCI_MANIFEST)
    assert (reply.status, reply.error_codes) == (400, ["TAG_INVALID"])


def test_root_template_applies_to_any_push(ecr, registry):
    ecr.create_repository_creation_template(prefix="ROOT", appliedFor=["CREATE_ON_PUSH"], repositoryPolicy=POLICY)
    push_image(registry, "anything", "v1")
    assert "omics.amazonaws.com" in ecr.get_repository_policy(repositoryName="anything")["policyText"]


# BatchGetImage


def test_batch_get_image_honours_accepted_media_types(ecr, registry):
    ecr.create_repository(repositoryName="multi")
    index, digest, children = push_index(registry, "multi", "v1")
    single_only = [DOCKER_MANIFEST, OCI_MANIFEST]
    result = ecr.batch_get_image(repositoryName="multi", imageIds=[{"imageTag": "v1"}], acceptedMediaTypes=single_only)
    assert result["images"] == []
    assert result["failures"][0]["failureCode"] == "UnsupportedImageType"
    assert result["failures"][0]["imageId"] == {"imageTag": "v1"}
    result = ecr.batch_get_image(
        repositoryName="multi",
        imageIds=[{"imageTag": "v1"}, {"imageDigest": children[0]}],
        acceptedMediaTypes=[OCI_INDEX],
    )
    assert [i["imageId"]["imageDigest"] for i in result["images"]] == [digest]
    assert [f["failureCode"] for f in result["failures"]] == ["UnsupportedImageType"]
    result = ecr.batch_get_image(repositoryName="multi", imageIds=[{"imageTag": "v1"}, {"imageTag": "v2"}])
    assert result["images"][0]["imageManifest"] == index.decode()
    assert result["images"][0]["imageManifestMediaType"] == OCI_INDEX
    assert [(f["imageId"], f["failureCode"]) for f in result["failures"]] == [({"imageTag": "v2"}, "ImageNotFound")]
    expect_error(
        "RepositoryNotFoundException", ecr.batch_get_image, repositoryName="nope", imageIds=[{"imageTag": "x"}]
    )


# Fault injection on the registry


def test_registry_fault_interrupts_an_upload_then_clears(testbed, ecr, registry):
    ecr.create_repository(repositoryName="repo")
    testbed.admin(
        "faults",
        {
            "service": "registry",
            "operation": "PutBlob",
            "count": 1,
            "kind": "error",
            "error_code": "BLOB_UPLOAD_INVALID",
            "http_status": 500,
        },
    )
    location = registry.call("POST", "/v2/repo/blobs/uploads/").headers["Location"]
    failed = registry.call("PUT", f"{location}?digest={sha256(b'data')}", b"data")
    assert (failed.status, failed.error_codes) == (500, ["BLOB_UPLOAD_INVALID"])
    assert registry.call("HEAD", f"/v2/repo/blobs/{sha256(b'data')}").status == 404
    registry.push_blob("repo", b"data", chunks=1)
    calls = testbed.admin("faults")["calls"]["registry"]
    assert (calls["PutBlob"], calls["StartUpload"], calls["PatchBlob"], calls["HeadBlob"]) == (2, 2, 1, 1)

    testbed.admin("faults", {"service": "registry", "operation": "GetManifest", "kind": "throttle"})
    throttled = registry.get_manifest("repo", "latest")
    assert (throttled.status, throttled.error_codes) == (429, ["TOOMANYREQUESTS"])


# Pull-through cache from a real upstream registry


def _require_docker_registry() -> None:
    if not upstreams.installed():
        pytest.fail(
            f"{upstreams.BINARY} is missing; the pull-through tests need Debian's docker-registry: "
            "apt-get install docker-registry",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def quay():
    """A docker-registry standing in for quay.io (anonymous), seeded with oci_images' standard set as
    `biocontainers/<name>:1`; `quay.images` describes them by name."""
    _require_docker_registry()
    with upstreams.UpstreamRegistry.start("quay.io") as registry:
        registry.images = oci_images.seed(registry.url, prefix="biocontainers", tag="1")
        yield registry


@pytest.fixture(scope="module")
def docker_hub():
    """A docker-registry standing in for Docker Hub, with Basic auth."""
    _require_docker_registry()
    with upstreams.UpstreamRegistry.start("registry-1.docker.io", ("hubuser", "hubtoken")) as registry:
        yield registry


@pytest.fixture
def quay_rule(testbed, ecr, quay):
    testbed.admin("upstreams", {"quay.io": quay.url})
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    return Client(quay.url)


def test_pull_through_imports_an_image_with_the_template(testbed, ecr, registry, quay_rule):
    upstream_manifest, upstream_digest, blob = push_image(quay_rule, "biocontainers/samtools", "1.19")
    ecr.create_repository_creation_template(
        prefix="quay",
        appliedFor=["PULL_THROUGH_CACHE"],
        repositoryPolicy=POLICY,
        resourceTags=[{"Key": "source", "Value": "quay"}],
    )
    name = "quay/biocontainers/samtools"
    result = ecr.batch_get_image(repositoryName=name, imageIds=[{"imageTag": "1.19"}])
    assert result["failures"] == []
    image = result["images"][0]
    assert image["imageId"] == {"imageDigest": upstream_digest, "imageTag": "1.19"}
    assert image["imageManifest"].encode() == upstream_manifest

    repository = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    assert ecr.get_repository_policy(repositoryName=name)["policyText"] == POLICY
    assert ecr.list_tags_for_resource(resourceArn=repository["repositoryArn"])["tags"] == [
        {"Key": "source", "Value": "quay"}
    ]
    assert testbed.admin("faults")["calls"]["ecr"]["BatchImportUpstreamImage"] == 1
    # Cached now: served without another import, and pullable over the registry endpoint with its blobs.
    ecr.batch_get_image(repositoryName=name, imageIds=[{"imageDigest": upstream_digest}])
    assert testbed.admin("faults")["calls"]["ecr"]["BatchImportUpstreamImage"] == 1
    assert registry.get_manifest(name, "1.19").body == upstream_manifest
    url = ecr.get_download_url_for_layer(repositoryName=name, layerDigest=sha256(blob))["downloadUrl"]
    assert Client(url).call("GET", url).body == blob


@pytest.mark.parametrize(
    "image", ["amd64", "multiarch", "arm64only", "arm64index", "entrypoint", "tmpfiles", "reserved-env"]
)
def test_pull_through_imports_each_standard_image(ecr, quay, quay_rule, image):
    expected = quay.images[image]
    name = f"quay/{expected['repository']}"
    result = ecr.batch_get_image(repositoryName=name, imageIds=[{"imageTag": "1"}])
    assert result["failures"] == []
    assert result["images"][0]["imageId"]["imageDigest"] == expected["digest"]
    assert result["images"][0]["imageManifestMediaType"] == expected["media_type"]
    stored = {i["imageDigest"] for i in ecr.list_images(repositoryName=name)["imageIds"]}
    assert {p["digest"] for p in expected.get("platforms", [])} <= stored
    blobs = (
        [expected["config"], *expected["layers"]]
        if "layers" in expected
        else [d for p in expected["platforms"] for d in [p["config"], *p["layers"]]]
    )
    layers = ecr.batch_check_layer_availability(repositoryName=name, layerDigests=blobs)
    assert layers["failures"] == [] and len(layers["layers"]) == len(blobs)


def test_standard_images_round_trip_through_the_registry_endpoint(ecr, registry):
    """oci_images pushes into the testbed as it pushes into docker-registry; the ECR API sees every image."""
    ecr.create_repository_creation_template(prefix="ROOT", appliedFor=["CREATE_ON_PUSH"])
    password = base64.b64decode(registry.authorization.split()[1]).decode().partition(":")[2]
    pushed = oci_images.seed(registry.base_url, prefix="mirror", user="AWS", password=password)
    for description in pushed.values():
        images = ecr.batch_get_image(repositoryName=description["repository"], imageIds=[{"imageTag": "1"}])["images"]
        assert images[0]["imageId"]["imageDigest"] == description["digest"]
        got = registry.get_manifest(description["repository"], description["digest"])
        assert got.headers["Content-Type"] == description["media_type"]


def test_pull_through_imports_an_index_and_its_children(testbed, ecr, registry, quay_rule):
    _, digest, children = push_index(quay_rule, "biocontainers/multi", "2.0")
    # Through the registry endpoint this time, as a docker pull would do it.
    got = registry.get_manifest("quay/biocontainers/multi", "2.0")
    assert (got.status, got.headers["Docker-Content-Digest"]) == (200, digest)
    listed = {
        (i["imageDigest"], i.get("imageTag"))
        for i in ecr.list_images(repositoryName="quay/biocontainers/multi")["imageIds"]
    }
    assert listed == {(digest, "2.0"), *((c, None) for c in children)}
    # The repository has no template: ECR's defaults, no policy.
    expect_error(
        "RepositoryPolicyNotFoundException", ecr.get_repository_policy, repositoryName="quay/biocontainers/multi"
    )


def test_pull_through_of_a_missing_image_fails_and_creates_nothing(testbed, ecr, quay_rule):
    result = ecr.batch_get_image(repositoryName="quay/biocontainers/absent", imageIds=[{"imageTag": "9.9"}])
    failure = result["failures"][0]
    assert failure["failureCode"] == "ImageNotFound" and "quay.io" in failure["failureReason"]
    assert failure["imageId"] == {"imageTag": "9.9"}
    expect_error(
        "RepositoryNotFoundException", ecr.describe_repositories, repositoryNames=["quay/biocontainers/absent"]
    )


def test_pull_through_failures_from_the_upstream_and_from_faults(testbed, ecr, quay_rule):
    push_image(quay_rule, "biocontainers/tool", "1")
    testbed.admin(
        "faults",
        {
            "service": "ecr",
            "operation": "BatchImportUpstreamImage",
            "kind": "error",
            "error_code": "UpstreamAccessDenied",
        },
    )
    result = ecr.batch_get_image(repositoryName="quay/biocontainers/tool", imageIds=[{"imageTag": "1"}])
    assert result["failures"][0]["failureCode"] == "UpstreamAccessDenied"
    assert ecr.batch_get_image(repositoryName="quay/biocontainers/tool", imageIds=[{"imageTag": "1"}])["images"]

    testbed.admin("upstreams", {"quay.io": None})
    result = ecr.batch_get_image(repositoryName="quay/biocontainers/tool", imageIds=[{"imageTag": "2"}])
    assert result["failures"][0]["failureCode"] == "UpstreamUnavailable"


def test_pull_through_with_credentials_and_upstream_prefix(testbed, ecr, secrets, docker_hub):
    hub = Client(docker_hub.url, "Basic " + base64.b64encode(b"hubuser:hubtoken").decode())
    _, digest, _ = push_image(hub, "library/ubuntu", "24.04", media_type=DOCKER_MANIFEST)
    testbed.admin("upstreams", {"registry-1.docker.io": docker_hub.url})
    wrong = secrets.create_secret(
        Name="ecr-pullthroughcache/wrong", SecretString=json.dumps({"username": "hubuser", "accessToken": "nope"})
    )["ARN"]
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="hub", upstreamRegistryUrl="registry-1.docker.io", credentialArn=wrong
    )
    result = ecr.batch_get_image(repositoryName="hub/library/ubuntu", imageIds=[{"imageTag": "24.04"}])
    assert result["failures"][0]["failureCode"] == "UpstreamAccessDenied"

    right = secrets.create_secret(
        Name="ecr-pullthroughcache/hub", SecretString=json.dumps({"username": "hubuser", "accessToken": "hubtoken"})
    )["ARN"]
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="dh",
        upstreamRegistryUrl="registry-1.docker.io",
        upstreamRepositoryPrefix="library",
        credentialArn=right,
    )
    result = ecr.batch_get_image(repositoryName="dh/ubuntu", imageIds=[{"imageTag": "24.04"}])
    assert result["images"][0]["imageId"]["imageDigest"] == digest


def test_root_rule_and_root_template_for_pull_through(testbed, ecr, quay):
    testbed.admin("upstreams", {"quay.io": quay.url})
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="ROOT", upstreamRegistryUrl="quay.io")
    ecr.create_repository_creation_template(prefix="ROOT", appliedFor=["PULL_THROUGH_CACHE"], repositoryPolicy=POLICY)
    ecr.create_repository_creation_template(prefix="other", appliedFor=["PULL_THROUGH_CACHE"])
    result = ecr.batch_get_image(repositoryName="biocontainers/amd64", imageIds=[{"imageTag": "1"}])
    assert result["images"][0]["imageId"]["imageDigest"] == quay.images["amd64"]["digest"]
    assert ecr.get_repository_policy(repositoryName="biocontainers/amd64")["policyText"] == POLICY


def test_unreachable_upstream(testbed, ecr, registry):
    testbed.admin("upstreams", {"quay.io": "http://127.0.0.1:9"})  # discard port: nothing listens
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    result = ecr.batch_get_image(repositoryName="quay/a/b", imageIds=[{"imageTag": "1"}])
    assert result["failures"][0]["failureCode"] == "UpstreamUnavailable"
    assert "127.0.0.1:9" in result["failures"][0]["failureReason"]
    reply = registry.get_manifest("quay/a/b", "1")
    assert (reply.status, reply.error_codes) == (503, ["UNAVAILABLE"])


def test_upstream_addresses_survive_reset_and_must_be_loopback(testbed):
    assert testbed.admin("upstreams", {"ghcr.io": "http://127.0.0.1:1"})["upstreams"]["ghcr.io"] == "http://127.0.0.1:1"
    testbed.admin("reset")
    assert testbed.admin("upstreams")["upstreams"]["ghcr.io"] == "http://127.0.0.1:1"
    with pytest.raises(AdminError) as info:
        testbed.admin("upstreams", {"ghcr.io": "https://ghcr.io"})
    assert info.value.status == 400
    assert "ghcr.io" not in testbed.admin("upstreams", {"ghcr.io": None})["upstreams"]


def test_serve_starts_upstream_registries_and_stops_them(tmp_path):
    _require_docker_registry()
    testbed = Testbed.start(
        tmp_path / "testbed.log",
        "--upstream-registries",
        "quay.io,community.wave.seqera.io",
        "--upstream-credentials",
        "community.wave.seqera.io=wave:secret",
        "--upstream",
        "ghcr.io=http://127.0.0.1:9",
        "--seed-upstreams",
    )
    try:
        assert set(testbed.upstreams) == {"quay.io", "community.wave.seqera.io", "ghcr.io"}
        assert Client(testbed.upstreams["quay.io"]).call("GET", "/v2/").status == 200
        assert Client(testbed.upstreams["community.wave.seqera.io"]).call("GET", "/v2/").status == 401
        assert testbed.admin("upstreams")["upstreams"] == testbed.upstreams
        assert set(testbed.upstream_images) == {"quay.io", "community.wave.seqera.io"}
        multiarch = testbed.upstream_images["community.wave.seqera.io"]["multiarch"]
        wave = Client(
            testbed.upstreams["community.wave.seqera.io"], "Basic " + base64.b64encode(b"wave:secret").decode()
        )
        got = wave.get_manifest(multiarch["repository"], "1")
        assert (got.status, got.headers["Docker-Content-Digest"]) == (200, multiarch["digest"])
    finally:
        testbed.stop()
    with pytest.raises(OSError):
        OPENER.open(testbed.upstreams["quay.io"] + "/v2/", timeout=2)
