"""The ECR registry endpoint: the OCI distribution API (/v2/) over the same images as the ECR API, on the same port.

Written from the OCI distribution spec and ECR's documented behaviour:
- Auth: every /v2/ call needs `Authorization: Basic base64("AWS:<password>")`, where base64("AWS:<password>") is
  the `authorizationToken` GetAuthorizationToken returned; otherwise 401 with `WWW-Authenticate: Basic realm=...`.
  The token names its account and region (each region is its own registry, as `<acct>.dkr.ecr.<region>...` is),
  expires after 12 hours, and is signed with a secret of this process, so it survives a reset.
- Manifests by tag or digest (GET/HEAD/PUT/DELETE); Docker schema 2, Docker manifest list, OCI manifest and OCI
  index, kept byte for byte, `Docker-Content-Digest` = sha256 of those bytes. A PUT must reference blobs already in
  the repository (and, for an index, manifests already in it), as ECR requires.
- Blobs: HEAD answers directly; GET redirects (307) to a presigned-style download URL on this server, as ECR
  redirects to S3 — the same URL GetDownloadUrlForLayer returns. The download URL needs no auth and honours Range.
- Uploads: POST (202 + Location), PATCH chunks (Content-Range checked), PUT ?digest= (the digest is verified:
  400 DIGEST_INVALID, unlike moto's CompleteLayerUpload), monolithic POST ?digest=, cross-repository mount
  POST ?mount=&from=.
- A push to a repository that does not exist is 404 NAME_UNKNOWN, unless a repository creation template applying
  to CREATE_ON_PUSH covers the name: then the repository is created with the template's settings.
- A manifest GET under a pull-through cache rule imports the image first (ptc.py).

Where real ECR departs from the distribution spec, this endpoint departs the same way by default (reported publicly
2022-2026; `ecr_quirks=False` gives the spec's behaviour), so a client that only works against a spec registry
fails here as it would against ECR:
- A PATCH is answered 201 Created, not 202 Accepted, though the upload stays open.
- Only the first PATCH of an upload session keeps its body. Later PATCHes are answered as if they were taken
  (201, a Range that covers them) but their bytes are dropped (aws/containers-roadmap#2831), so a blob sent in
  several chunks fails the digest check of the completing PUT. A client must send a blob in one PATCH, or in the
  PUT itself.
- A part (a PATCH body, or the completing PUT's body) smaller than 5 MiB may only be the last one: a part that
  follows a smaller one is refused with 400 LayerPartTooSmallException.
- A cross-repository mount succeeds (201) only when a manifest in the source repository references the blob; a
  blob that is merely stored there is not mounted, and the answer is 202 with a fresh upload session
  (aws/containers-roadmap#2860).
- A refusal by policy is 403 with the OCI code DENIED and ECR's "is not authorized to perform" wording: that is how
  an injected AccessDeniedException (or DENIED) fault on a registry operation answers, whatever its http_status.

Every /v2/ call is counted and can be failed, throttled or stalled like an AWS call, as service `registry` with
these operations: Ping, GetManifest, HeadManifest, PutManifest, DeleteManifest, GetBlob, HeadBlob, DeleteBlob,
StartUpload, MountBlob, PatchBlob, PutBlob (an upload's completing PUT, and a monolithic POST ?digest=), GetUpload,
CancelUpload, ListTags. Layer downloads from the redirect URL are not counted (they stand for S3).

The ECR API operations that touch the image store are served here too: GetAuthorizationToken (a token for this
endpoint, `proxyEndpoint` = this server, `expiresAt` 12 hours ahead), GetDownloadUrlForLayer, BatchGetImage
(honours `acceptedMediaTypes` without converting; pull-through imports), PutImage (digest = sha256 of the
manifest) and CompleteLayerUpload (verifies the digest and keeps the bytes, so the layer can be pulled).
"""

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from moto.core.exceptions import JsonRESTError
from moto.ecr.models import ECRBackend, Repository, ecr_backends
from werkzeug.wrappers import Request, Response

import imagestore
from blobstore import CHUNK, BlobStore, DigestMismatch
from faults import FaultBook
from protocol import ApiError, error_response, registry_error
from ptc import ImportFailure, PullThroughCache

log = logging.getLogger("testbed.registry")

TOKEN_LIFETIME_S = 12 * 3600
LAYER_URL_LIFETIME_S = 3600
LAYER_PREFIX = "/_ecr-layers/"
MAX_REPOSITORY_NAME = 256
API_VERSION_HEADER = {"Docker-Distribution-API-Version": "registry/2.0"}
# ECR's smallest upload part, except for the last one (the S3 multipart minimum behind it).
MIN_PART_BYTES = 5 * 1024 * 1024
# Fault codes that stand for a refusal by IAM or a repository policy.
DENIED_CODES = ("AccessDeniedException", "AccessDenied", "DENIED")
# The IAM action ECR checks for each registry operation, as its DENIED messages name it.
IAM_ACTIONS = {
    "Ping": "ecr:GetAuthorizationToken",
    "GetManifest": "ecr:BatchGetImage",
    "HeadManifest": "ecr:BatchGetImage",
    "PutManifest": "ecr:PutImage",
    "DeleteManifest": "ecr:BatchDeleteImage",
    "GetBlob": "ecr:GetDownloadUrlForLayer",
    "HeadBlob": "ecr:BatchCheckLayerAvailability",
    "StartUpload": "ecr:InitiateLayerUpload",
    "MountBlob": "ecr:InitiateLayerUpload",
    "PatchBlob": "ecr:UploadLayerPart",
    "PutBlob": "ecr:CompleteLayerUpload",
    "GetUpload": "ecr:UploadLayerPart",
    "CancelUpload": "ecr:UploadLayerPart",
    "ListTags": "ecr:ListImages",
}

# The ECR API operations served here (ImageFailureCode has no code for an unaccepted media type: ECR's own
# answer to that is "UnsupportedImageType").
ECR_OPERATIONS = ("GetAuthorizationToken", "GetDownloadUrlForLayer", "BatchGetImage", "PutImage", "CompleteLayerUpload")
UNSUPPORTED_IMAGE_TYPE = "UnsupportedImageType"

# A pull-through failure seen through the registry endpoint: (HTTP status, OCI error code).
IMPORT_FAILURE_STATUS = {
    "ImageNotFound": (404, "MANIFEST_UNKNOWN"),
    "UpstreamAccessDenied": (403, "DENIED"),
    "UpstreamTooManyRequests": (429, "TOOMANYREQUESTS"),
    "UpstreamUnavailable": (503, "UNAVAILABLE"),
}


class RegistryError(Exception):
    """An OCI error response."""

    def __init__(self, status: int, code: str, message: str, detail: object = None, headers: dict | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.headers = headers or {}

    def response(self, method: str) -> Response:
        if method == "HEAD":  # no body, as HEAD responses have none
            return Response(status=self.status, headers={**API_VERSION_HEADER, **self.headers})
        return registry_error(self.status, self.code, self.message, self.detail, self.headers)


@dataclass(frozen=True)
class Identity:
    """Whose registry a /v2/ call addresses, from its token."""

    account_id: str
    region: str

    @property
    def backend(self) -> ECRBackend:
        return ecr_backends[self.account_id][self.region]


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern
    methods: dict[str, tuple[str, str]]  # HTTP method -> (operation, handler method name)


ROUTES = (
    Route(re.compile(r"/v2/?"), {"GET": ("Ping", "_ping"), "HEAD": ("Ping", "_ping")}),
    Route(
        re.compile(r"/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)"),
        {
            "GET": ("GetManifest", "_get_manifest"),
            "HEAD": ("HeadManifest", "_get_manifest"),
            "PUT": ("PutManifest", "_put_manifest"),
            "DELETE": ("DeleteManifest", "_delete_manifest"),
        },
    ),
    Route(re.compile(r"/v2/(?P<name>.+)/blobs/uploads/?"), {"POST": ("StartUpload", "_post_upload")}),
    Route(
        re.compile(r"/v2/(?P<name>.+)/blobs/uploads/(?P<upload_id>[^/]+)"),
        {
            "PATCH": ("PatchBlob", "_patch_upload"),
            "PUT": ("PutBlob", "_put_upload"),
            "GET": ("GetUpload", "_get_upload"),
            "DELETE": ("CancelUpload", "_cancel_upload"),
        },
    ),
    Route(
        re.compile(r"/v2/(?P<name>.+)/blobs/(?P<digest>[^/]+)"),
        {
            "GET": ("GetBlob", "_get_blob"),
            "HEAD": ("HeadBlob", "_get_blob"),
            "DELETE": ("DeleteBlob", "_delete_blob"),
        },
    ),
    Route(re.compile(r"/v2/(?P<name>.+)/tags/list"), {"GET": ("ListTags", "_list_tags")}),
)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _stream(request: Request):
    return iter(lambda: request.stream.read(CHUNK), b"")


def _drain(request: Request) -> int:
    """Reads and drops the rest of a request body, so an error answer does not cut off a client still sending."""
    return sum(len(chunk) for chunk in _stream(request))


class Registry:
    """The /v2/ endpoint and the image-store ECR operations, over moto's ECR state and a BlobStore."""

    def __init__(
        self,
        faults: FaultBook,
        blobs: BlobStore,
        ptc: PullThroughCache,
        template_for: Callable[[str, str, str], dict | None],
        ecr_quirks: bool = True,
    ):
        self.ecr_quirks = ecr_quirks
        self.faults = faults
        self.blobs = blobs
        self.ptc = ptc
        self.template_for = template_for
        self._secret = secrets.token_bytes(32)
        self._lock = imagestore.STORE_LOCK

    @staticmethod
    def handles_path(path: str) -> bool:
        return path == "/v2" or path.startswith(("/v2/", LAYER_PREFIX))

    def reset(self) -> None:
        self.blobs.reset()

    # Tokens and signed layer URLs

    def _sign(self, payload: dict) -> str:
        data = _b64url(json.dumps(payload, separators=(",", ":")).encode())
        signature = hmac.new(self._secret, data.encode(), hashlib.sha256).hexdigest()[:40]
        return f"{data}.{signature}"

    def _verify(self, signed: str) -> dict | None:
        data, _, signature = signed.rpartition(".")
        expected = hmac.new(self._secret, data.encode(), hashlib.sha256).hexdigest()[:40]
        if not data or not hmac.compare_digest(signature, expected):
            return None
        try:
            payload = json.loads(_unb64url(data))
        except ValueError:
            return None
        return payload if isinstance(payload, dict) and payload.get("e", 0) > time.time() else None

    def issue_token(self, account_id: str, region: str) -> tuple[str, float]:
        """(authorizationToken, expiresAt) as GetAuthorizationToken returns them."""
        expires = time.time() + TOKEN_LIFETIME_S
        password = self._sign({"a": account_id, "r": region, "e": expires})
        return base64.b64encode(f"AWS:{password}".encode()).decode(), expires

    def _identity(self, request: Request, host_url: str) -> Identity:
        unauthorized = RegistryError(
            401,
            "UNAUTHORIZED",
            "authentication required (Basic, with the credentials from ecr:GetAuthorizationToken)",
            headers={"WWW-Authenticate": f'Basic realm="{host_url}",service="ecr.amazonaws.com"'},
        )
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            raise unauthorized
        try:
            user, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
        except ValueError:
            raise unauthorized from None
        payload = self._verify(password) if user == "AWS" else None
        if payload is None:
            raise unauthorized
        return Identity(payload["a"], payload["r"])

    def layer_url(self, host_url: str, identity: Identity, repository: str, digest: str) -> str:
        signed = self._sign(
            {
                "a": identity.account_id,
                "r": identity.region,
                "n": repository,
                "d": digest,
                "e": time.time() + LAYER_URL_LIFETIME_S,
            }
        )
        return f"{host_url.rstrip('/')}{LAYER_PREFIX}{signed}"

    # The /v2/ endpoint

    def serve(self, request: Request) -> Response:
        """Serves one registry request (already known to be under /v2 or the layer download path)."""
        host_url = request.host_url.rstrip("/")
        if request.path.startswith(LAYER_PREFIX):
            return self._download_layer(request)
        route, match = next(((r, m) for r in ROUTES if (m := r.pattern.fullmatch(request.path))), (None, None))
        operation, handler_name = (route.methods.get(request.method) if route else None) or ("Unknown", None)
        if operation == "StartUpload" and request.args.get("digest"):
            operation = "PutBlob"
        elif operation == "StartUpload" and request.args.get("mount"):
            operation = "MountBlob"
        started = time.monotonic()
        self.faults.delay()
        fault = self.faults.record("registry", operation)
        if fault is not None:
            log.info("registry.%s: injecting %s", operation, fault.kind)
            if fault.kind == "error" and fault.error_code in DENIED_CODES:
                return self._denied(request, operation, fault.message)
            if fault.kind != "stall":
                return error_response("registry", fault.error())
            self.faults.stall(fault.stall_seconds)
        try:
            if route is None:
                raise RegistryError(404, "NOT_FOUND", f"no registry route {request.path}")
            if handler_name is None:
                raise RegistryError(405, "UNSUPPORTED", f"{request.method} is not supported on {request.path}")
            identity = self._identity(request, host_url)
            params = match.groupdict()
            if "name" in params:
                self._check_name(params["name"])
            response = getattr(self, handler_name)(identity, request, host_url, **params)
        except RegistryError as error:
            response = error.response(request.method)
        for header, value in API_VERSION_HEADER.items():
            response.headers[header] = value
        log.info(
            "registry.%s %s -> %s (%.0f ms)",
            operation,
            request.path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response

    def _denied(self, request: Request, operation: str, detail: str) -> Response:
        """403 DENIED, worded as ECR words a refusal by IAM or a repository policy."""
        action = IAM_ACTIONS.get(operation, f"ecr:{operation}")
        matches = (r.pattern.fullmatch(request.path) for r in ROUTES)
        name = next((m.group("name") for m in matches if m and "name" in m.re.groupindex), "*")
        try:
            identity = self._identity(request, request.host_url)
            who, resource = (
                f"arn:aws:sts::{identity.account_id}:assumed-role/testbed/caller",
                f"arn:aws:ecr:{identity.region}:{identity.account_id}:repository/{name}",
            )
        except RegistryError:
            who, resource = "anonymous", f"repository/{name}"
        message = (
            f"User: {who} is not authorized to perform: {action} on resource: {resource} "
            f"because no identity-based policy allows the {action} action ({detail})"
        )
        return RegistryError(403, "DENIED", message).response(request.method)

    @staticmethod
    def _check_name(name: str) -> None:
        if len(name) > MAX_REPOSITORY_NAME or not imagestore.REPOSITORY_NAME_PATTERN.fullmatch(name):
            raise RegistryError(400, "NAME_INVALID", f"invalid repository name '{name}'", {"name": name})

    @staticmethod
    def _check_digest(digest: str) -> str:
        if not imagestore.DIGEST_PATTERN.fullmatch(digest):
            raise RegistryError(400, "DIGEST_INVALID", f"invalid digest '{digest}'", {"digest": digest})
        return digest

    def _repository(self, identity: Identity, name: str, *, push: bool = False) -> Repository:
        backend = identity.backend
        repository = backend.repositories.get(name)
        if repository is None and push:
            template = self.template_for(identity.region, name, "CREATE_ON_PUSH")
            if template is not None:
                with self._lock:
                    repository = backend.repositories.get(name) or imagestore.create_repository(backend, name, template)
                log.info("create on push: created %s (template %s)", name, template["prefix"])
        if repository is None:
            raise RegistryError(
                404,
                "NAME_UNKNOWN",
                f"The repository with name '{name}' does not exist in the registry with id '{identity.account_id}'",
                {"name": name},
            )
        return repository

    def _ping(self, identity: Identity, request: Request, host_url: str) -> Response:
        return Response("{}", content_type="application/json")

    # Manifests

    def _get_manifest(self, identity: Identity, request: Request, host_url: str, name: str, reference: str) -> Response:
        digest, tag = self._reference(reference)
        backend = identity.backend
        repository = backend.repositories.get(name)
        image = imagestore.find_image(repository, tag=tag, digest=digest) if repository is not None else None
        if image is None and self.ptc.covers(identity.region, name):
            try:
                repository, image = self.ptc.pull(backend, identity.region, name, tag, digest)
            except ImportFailure as failure:
                status, code = IMPORT_FAILURE_STATUS.get(failure.code, (502, "UNKNOWN"))
                raise RegistryError(status, code, failure.reason, {"failureCode": failure.code}) from None
        if repository is None:
            self._repository(identity, name)  # raises NAME_UNKNOWN
        if image is None:
            raise RegistryError(404, "MANIFEST_UNKNOWN", f"manifest unknown: {reference}", {"reference": reference})
        body = imagestore.manifest_bytes(image)
        return Response(
            body,
            content_type=imagestore.media_type_of(image),
            headers={
                "Docker-Content-Digest": image.get_image_digest(),
                "ETag": f'"{image.get_image_digest()}"',
                "Content-Length": str(len(body)),
            },
        )

    @classmethod
    def _reference(cls, reference: str) -> tuple[str | None, str | None]:
        """(digest, tag) of a manifest reference; exactly one is set."""
        if ":" in reference:
            return cls._check_digest(reference), None
        if not imagestore.TAG_PATTERN.fullmatch(reference):
            raise RegistryError(400, "TAG_INVALID", f"invalid tag '{reference}'", {"tag": reference})
        return None, reference

    def _put_manifest(self, identity: Identity, request: Request, host_url: str, name: str, reference: str) -> Response:
        digest, tag = self._reference(reference)
        body = request.stream.read(imagestore.MAX_MANIFEST_BYTES + 1)
        try:
            _, media_type = imagestore.parse_manifest(body, request.mimetype or None)
        except ApiError as error:
            raise RegistryError(400, "MANIFEST_INVALID", error.message) from None
        repository = self._repository(identity, name, push=True)
        try:
            with self._lock:
                image, _ = imagestore.put_manifest(repository, body, media_type, tag, expected_digest=digest)
        except ApiError as error:
            if error.code == "ImageAlreadyExistsException":
                image = imagestore.find_image(repository, digest=imagestore.digest_of(body))
            else:
                status, code = {
                    "ImageDigestDoesNotMatchException": (400, "DIGEST_INVALID"),
                    "LayersNotFoundException": (400, "MANIFEST_BLOB_UNKNOWN"),
                    "ReferencedImagesNotFoundException": (400, "MANIFEST_BLOB_UNKNOWN"),
                    "ImageTagAlreadyExistsException": (400, "TAG_INVALID"),
                }.get(error.code, (400, "MANIFEST_INVALID"))
                raise RegistryError(status, code, error.message) from None
        image_digest = image.get_image_digest()
        return Response(
            status=201,
            headers={
                "Location": f"{host_url}/v2/{name}/manifests/{image_digest}",
                "Docker-Content-Digest": image_digest,
                "Content-Length": "0",
            },
        )

    def _delete_manifest(self, identity: Identity, request: Request, host_url: str, name: str, reference: str):
        digest, tag = self._reference(reference)
        repository = self._repository(identity, name)
        with self._lock:
            done = imagestore.delete_image(repository, digest) if digest else imagestore.untag(repository, tag)
        if not done:
            raise RegistryError(404, "MANIFEST_UNKNOWN", f"manifest unknown: {reference}", {"reference": reference})
        return Response(status=202, headers={"Content-Length": "0"})

    def _list_tags(self, identity: Identity, request: Request, host_url: str, name: str) -> Response:
        repository = self._repository(identity, name)
        tags = sorted({tag for image in repository.images for tag in image.image_tags})
        last = request.args.get("last")
        if last:
            tags = [t for t in tags if t > last]
        headers = {}
        n = request.args.get("n")
        if n is not None:
            if not n.isdigit():
                raise RegistryError(400, "PAGINATION_NUMBER_INVALID", f"invalid number of results requested: {n}")
            if 0 < int(n) < len(tags):
                tags = tags[: int(n)]
                headers["Link"] = f'</v2/{name}/tags/list?n={n}&last={tags[-1]}>; rel="next"'
            elif int(n) == 0:
                tags = []
        return Response(json.dumps({"name": name, "tags": tags}), content_type="application/json", headers=headers)

    # Blobs

    def _linked_size(self, repository: Repository, digest: str) -> int | None:
        """The blob's size if it is in the repository and stored, else None."""
        if digest not in repository.layers:
            return None
        return self.blobs.size(digest)

    @staticmethod
    def _referenced(repository: Repository, digest: str) -> bool:
        """True when an image manifest in the repository names the blob as its config or a layer."""
        for image in repository.images:
            try:
                document = json.loads(image.image_manifest)
            except ValueError:
                continue
            descriptors = imagestore.blob_descriptors(document, imagestore.media_type_of(image))
            if any(isinstance(d, dict) and d.get("digest") == digest for d in descriptors):
                return True
        return False

    def _get_blob(self, identity: Identity, request: Request, host_url: str, name: str, digest: str) -> Response:
        self._check_digest(digest)
        repository = self._repository(identity, name)
        size = self._linked_size(repository, digest)
        if size is None:
            raise RegistryError(404, "BLOB_UNKNOWN", f"blob unknown to registry: {digest}", {"digest": digest})
        if request.method == "HEAD":
            return Response(
                status=200,
                headers={
                    "Content-Length": str(size),
                    "Docker-Content-Digest": digest,
                    "Content-Type": "application/octet-stream",
                },
            )
        return Response(
            status=307,
            headers={"Location": self.layer_url(host_url, identity, name, digest), "Docker-Content-Digest": digest},
        )

    def _delete_blob(self, identity: Identity, request: Request, host_url: str, name: str, digest: str) -> Response:
        raise RegistryError(405, "UNSUPPORTED", "ECR does not delete blobs through the registry API")

    def _download_layer(self, request: Request) -> Response:
        payload = self._verify(request.path[len(LAYER_PREFIX) :])
        if payload is None or request.method not in ("GET", "HEAD"):
            return Response(
                "<Error><Code>AccessDenied</Code><Message>Request has expired or is not valid</Message></Error>",
                status=403,
                content_type="application/xml",
            )
        digest = payload["d"]
        size = self.blobs.size(digest)
        if size is None:
            return Response("<Error><Code>NoSuchKey</Code></Error>", status=404, content_type="application/xml")
        start, end, status = 0, size, 200
        headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream", "ETag": f'"{digest}"'}
        ranged = re.fullmatch(r"bytes=(\d*)-(\d*)", request.headers.get("Range", ""))
        if ranged and (ranged.group(1) or ranged.group(2)):
            if ranged.group(1):
                start = int(ranged.group(1))
                end = min(int(ranged.group(2)) + 1, size) if ranged.group(2) else size
            else:
                start = max(size - int(ranged.group(2)), 0)
            if start >= size or start >= end:
                return Response(status=416, headers={"Content-Range": f"bytes */{size}"})
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        headers["Content-Length"] = str(end - start)
        body = self.blobs.read(digest, start, end) if request.method == "GET" else []
        return Response(body, status=status, headers=headers, direct_passthrough=True)

    # Uploads

    def _link(self, repository: Repository, digest: str, size: int) -> None:
        with self._lock:
            repository.layers[digest] = size

    def _blob_created(self, host_url: str, name: str, digest: str) -> Response:
        return Response(
            status=201,
            headers={
                "Location": f"{host_url}/v2/{name}/blobs/{digest}",
                "Docker-Content-Digest": digest,
                "Content-Length": "0",
            },
        )

    def _upload_response(self, host_url: str, name: str, upload, status: int = 202) -> Response:
        return Response(
            status=status,
            headers={
                "Location": f"{host_url}/v2/{name}/blobs/uploads/{upload.id}",
                "Range": f"0-{max(upload.claimed - 1, 0)}",
                "Docker-Upload-UUID": upload.id,
                "Content-Length": "0",
            },
        )

    def _post_upload(self, identity: Identity, request: Request, host_url: str, name: str) -> Response:
        repository = self._repository(identity, name, push=True)
        digest = request.args.get("digest")
        if digest:  # monolithic upload
            self._check_digest(digest)
            try:
                _, size = self.blobs.ingest(_stream(request), digest)
            except DigestMismatch as error:
                raise RegistryError(400, "DIGEST_INVALID", str(error), {"digest": digest}) from None
            self._link(repository, digest, size)
            return self._blob_created(host_url, name, digest)
        mount, source = request.args.get("mount"), request.args.get("from")
        if mount:
            self._check_digest(mount)
            source_repository = identity.backend.repositories.get(source or "")
            size = self._linked_size(source_repository, mount) if source_repository is not None else None
            if size is not None and self.ecr_quirks and not self._referenced(source_repository, mount):
                size = None  # ECR mounts only what a manifest of the source references (containers-roadmap#2860)
            if size is not None:
                self._link(repository, mount, size)
                return self._blob_created(host_url, name, mount)
        upload = self.blobs.start_upload(identity.account_id, identity.region, name)
        return self._upload_response(host_url, name, upload)

    def _upload(self, identity: Identity, name: str, upload_id: str):
        upload = self.blobs.upload(upload_id)
        if upload is None or (upload.account_id, upload.region, upload.repository) != (
            identity.account_id,
            identity.region,
            name,
        ):
            raise RegistryError(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", {"uuid": upload_id})
        return upload

    def _patch_upload(self, identity: Identity, request: Request, host_url: str, name: str, upload_id: str):
        upload = self._upload(identity, name, upload_id)
        with upload.lock:
            content_range = request.headers.get("Content-Range")
            if content_range:
                ranged = re.fullmatch(r"(?:bytes[ =])?(\d+)-(\d+)", content_range.strip())
                if not ranged or int(ranged.group(1)) != upload.claimed:
                    _drain(request)
                    raise RegistryError(
                        416,
                        "BLOB_UPLOAD_INVALID",
                        f"the chunk must start at byte {upload.claimed}, not '{content_range}'",
                        headers={
                            "Location": f"{host_url}/v2/{name}/blobs/uploads/{upload.id}",
                            "Range": f"0-{max(upload.claimed - 1, 0)}",
                        },
                    )
            if not self.ecr_quirks:
                upload.append(_stream(request))
                return self._upload_response(host_url, name, upload)
            self._check_part_size(request, upload)
            chunks = _stream(request)
            added = upload.append(chunks) if upload.parts == 0 else upload.discard(chunks)  # containers-roadmap#2831
            if added:
                upload.parts += 1
                upload.last_part = added
        return self._upload_response(host_url, name, upload, status=201)

    def _check_part_size(self, request: Request, upload) -> None:
        """Refuses a new part when the one before it was under ECR's minimum (only a last part may be smaller).
        The caller holds the upload's lock."""
        if upload.parts and upload.last_part < MIN_PART_BYTES and request.content_length != 0:
            if _drain(request) == 0:
                return
            raise RegistryError(
                400,
                "LayerPartTooSmallException",
                f"Layer part size {upload.last_part} is below the minimum of {MIN_PART_BYTES} bytes; only the last "
                "part of an upload may be smaller",
                {"uploadId": upload.id, "partSize": upload.last_part},
            )

    def _put_upload(self, identity: Identity, request: Request, host_url: str, name: str, upload_id: str):
        upload = self._upload(identity, name, upload_id)
        digest = request.args.get("digest")
        if not digest:
            raise RegistryError(400, "DIGEST_INVALID", "the digest query parameter is required")
        self._check_digest(digest)
        repository = self._repository(identity, name)
        with upload.lock:
            if self.ecr_quirks:
                self._check_part_size(request, upload)
            upload.append(_stream(request))
            try:
                size = self.blobs.finish_upload(upload, digest)
            except DigestMismatch as error:
                raise RegistryError(400, "DIGEST_INVALID", str(error), {"digest": digest}) from None
        self._link(repository, digest, size)
        return self._blob_created(host_url, name, digest)

    def _get_upload(self, identity: Identity, request: Request, host_url: str, name: str, upload_id: str):
        return self._upload_response(host_url, name, self._upload(identity, name, upload_id), status=204)

    def _cancel_upload(self, identity: Identity, request: Request, host_url: str, name: str, upload_id: str):
        self.blobs.cancel_upload(self._upload(identity, name, upload_id))
        return Response(status=204)

    # ECR API operations over the image store

    def handles(self, operation: str) -> bool:
        return operation in ECR_OPERATIONS

    def handle(self, operation: str, account_id: str, region: str, params: dict, host_url: str, forward) -> dict:
        registry_id = params.get("registryId")
        if registry_id is not None and registry_id != account_id and operation != "GetAuthorizationToken":
            raise ApiError(
                "InvalidParameterException",
                f"Invalid parameter at 'registryId': the registry id must be this account's ({account_id})",
            )
        identity = Identity(account_id, region)
        try:
            if operation == "GetAuthorizationToken":
                return self._get_authorization_token(identity, params, host_url)
            if operation == "GetDownloadUrlForLayer":
                return self._get_download_url(identity, params, host_url)
            if operation == "BatchGetImage":
                return self._batch_get_image(identity, params)
            if operation == "PutImage":
                return self._put_image(identity, params)
            return self._complete_layer_upload(identity, params, forward)
        except JsonRESTError as error:  # moto's typed errors, e.g. RepositoryNotFoundException
            raise ApiError(error.error_type, error.message, error.code) from None

    @staticmethod
    def _required_string(params: dict, name: str) -> str:
        value = params.get(name)
        if not isinstance(value, str) or not value:
            raise ApiError(
                "InvalidParameterException",
                f"Invalid parameter at '{name}' failed to satisfy constraint: 'Member must not be null'",
            )
        return value

    def _existing_repository(self, identity: Identity, params: dict) -> Repository:
        name = self._required_string(params, "repositoryName")
        repository = identity.backend.repositories.get(name)
        if repository is None:
            raise ApiError(
                "RepositoryNotFoundException",
                f"The repository with name '{name}' does not exist in the registry with id '{identity.account_id}'",
            )
        return repository

    def _get_authorization_token(self, identity: Identity, params: dict, host_url: str) -> dict:
        registry_ids = params.get("registryIds") or [identity.account_id]
        if not isinstance(registry_ids, list) or len(registry_ids) > 10:
            raise ApiError("InvalidParameterException", "registryIds must be a list of 1 to 10 registry ids")
        data = []
        for registry_id in registry_ids:
            if not isinstance(registry_id, str) or not re.fullmatch(r"\d{12}", registry_id):
                raise ApiError("InvalidParameterException", f"Invalid registry id '{registry_id}'")
            token, expires = self.issue_token(registry_id, identity.region)
            data.append({"authorizationToken": token, "expiresAt": expires, "proxyEndpoint": host_url})
        return {"authorizationData": data}

    def _get_download_url(self, identity: Identity, params: dict, host_url: str) -> dict:
        repository = self._existing_repository(identity, params)
        digest = self._required_string(params, "layerDigest")
        if not imagestore.DIGEST_PATTERN.fullmatch(digest):
            raise ApiError("InvalidParameterException", f"Invalid parameter at 'layerDigest': '{digest}'")
        if self._linked_size(repository, digest) is None:
            raise ApiError(
                "LayersNotFoundException",
                f"The layer '{digest}' does not exist in the repository with name '{repository.name}' in the registry "
                f"with id '{identity.account_id}'",
            )
        return {"downloadUrl": self.layer_url(host_url, identity, repository.name, digest), "layerDigest": digest}

    def _batch_get_image(self, identity: Identity, params: dict) -> dict:
        name = self._required_string(params, "repositoryName")
        image_ids = params.get("imageIds")
        if not isinstance(image_ids, list) or not 1 <= len(image_ids) <= 100:
            raise ApiError("InvalidParameterException", "imageIds must hold 1 to 100 image ids")
        accepted = params.get("acceptedMediaTypes")
        if accepted is not None and (
            not isinstance(accepted, list)
            or not 1 <= len(accepted) <= 100
            or not all(isinstance(a, str) for a in accepted)
        ):
            raise ApiError("InvalidParameterException", "acceptedMediaTypes must hold 1 to 100 media types")
        backend = identity.backend
        covered = self.ptc.covers(identity.region, name) is not None
        if name not in backend.repositories and not covered:
            self._existing_repository(identity, params)  # raises RepositoryNotFoundException
        images, failures = [], []
        for image_id in image_ids:
            image_id = image_id if isinstance(image_id, dict) else {}
            tag, digest = image_id.get("imageTag"), image_id.get("imageDigest")

            def fail(code: str, reason: str, image_id=image_id) -> None:
                failures.append({"imageId": image_id, "failureCode": code, "failureReason": reason})

            if not tag and not digest:
                fail("MissingDigestAndTag", "Invalid request parameters: both tag and digest cannot be null")
                continue
            if digest and not imagestore.DIGEST_PATTERN.fullmatch(digest):
                fail("InvalidImageDigest", f"Invalid request parameters: image digest '{digest}' is not valid")
                continue
            repository = backend.repositories.get(name)
            image = imagestore.find_image(repository, digest=digest) if repository and digest else None
            if repository and tag:
                tagged = imagestore.find_image(repository, tag=tag)
                if digest and image is not None and tagged is not image:
                    fail("ImageTagDoesNotMatchDigest", f"The tag '{tag}' does not point to the digest '{digest}'")
                    continue
                image = image or tagged
            if image is None and covered:
                try:
                    repository, image = self.ptc.pull(backend, identity.region, name, None if digest else tag, digest)
                except ImportFailure as failure:
                    fail(failure.code, failure.reason)
                    continue
            if image is None:
                fail("ImageNotFound", "Requested image not found")
                continue
            media_type = imagestore.media_type_of(image)
            if accepted is not None and media_type not in accepted:
                fail(
                    UNSUPPORTED_IMAGE_TYPE,
                    f"The image's manifest media type '{media_type}' is not one of the accepted media types",
                )
                continue
            images.append(
                {
                    "registryId": identity.account_id,
                    "repositoryName": name,
                    "imageId": {"imageDigest": image.get_image_digest(), **({"imageTag": tag} if tag else {})},
                    "imageManifest": image.image_manifest,
                    "imageManifestMediaType": media_type,
                }
            )
        return {"images": images, "failures": failures}

    def _put_image(self, identity: Identity, params: dict) -> dict:
        repository = self._existing_repository(identity, params)
        manifest = self._required_string(params, "imageManifest")
        tag = params.get("imageTag")
        if tag is not None and (not isinstance(tag, str) or not 1 <= len(tag) <= 300):
            raise ApiError("InvalidParameterException", "imageTag must have 1 to 300 characters")
        body = manifest.encode("utf-8")
        _, media_type = imagestore.parse_manifest(body, params.get("imageManifestMediaType"))
        with self._lock:
            image, _ = imagestore.put_manifest(
                repository,
                body,
                media_type,
                tag,
                expected_digest=params.get("imageDigest"),
                check_references=False,  # lenient: the testbed's own fixtures put manifests without their blobs
            )
        return {
            "image": {
                "registryId": identity.account_id,
                "repositoryName": repository.name,
                "imageId": {"imageDigest": image.get_image_digest(), **({"imageTag": tag} if tag else {})},
                "imageManifest": image.image_manifest,
                "imageManifestMediaType": media_type,
            }
        }

    def _complete_layer_upload(self, identity: Identity, params: dict, forward) -> dict:
        repository = self._existing_repository(identity, params)
        upload_id = self._required_string(params, "uploadId")
        digests = params.get("layerDigests")
        if not isinstance(digests, list) or not 1 <= len(digests) <= 100:
            raise ApiError("InvalidParameterException", "layerDigests must hold 1 to 100 digests")
        upload = repository.uploads.get(upload_id)
        if upload is None:
            raise ApiError(
                "UploadNotFoundException",
                f"Upload with id '{upload_id}' is not found in repository '{repository.name}' in registry with id "
                f"'{identity.account_id}'",
            )
        data = bytes(upload.layer_parts)
        if not data:
            raise ApiError("EmptyUploadException", f"The upload '{upload_id}' has no layer parts")
        digest = imagestore.digest_of(data)
        if digests[0] != digest:
            raise ApiError(
                "InvalidLayerException",
                f"The layer digest calculation performed by Amazon ECR upon receipt of the image layer ({digest}) "
                f"does not match the digest specified ({digests[0]})",
            )
        if digest in repository.layers:
            raise ApiError(
                "LayerAlreadyExistsException",
                f"Layer '{digest}' already exists in the repository with name '{repository.name}'",
            )
        self.blobs.put_bytes(data)
        return forward(params)
