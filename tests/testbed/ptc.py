"""Pull-through cache: what ECR does when a pull names `<prefix>/<path>` under a pull-through cache rule.

On BatchGetImage (or a manifest GET on the registry endpoint) for a repository covered by a rule (longest prefix;
a ROOT rule covers every name no other rule does), when the repository or the image is missing, ECR:
1. fetches the manifest from the rule's upstream registry (for an index, every child manifest too) and every blob
   they reference, authenticating with the rule's Secrets Manager credential (`username`/`accessToken`) when the
   upstream asks for it (Basic, or a Bearer token from the upstream's token realm);
2. creates the repository if it does not exist, with the repository creation template for it that applies to
   PULL_THROUGH_CACHE (longest prefix, else ROOT): repository policy, tag mutability, tags, encryption, lifecycle;
3. stores the images (children untagged, the requested tag on the top manifest) and answers from them.

The repository is created only once the upstream manifest was found, so a pull of a missing image leaves nothing
behind. Images already cached are served as they are: the testbed never re-checks the upstream for a moved tag.

Where is `quay.io`? No traffic leaves this machine: every upstream host is served by an address given with
`serve.py --upstream quay.io=http://127.0.0.1:5001` or `POST /_testbed/upstreams`; a host with no address is
unreachable (failure `UpstreamUnavailable`). Only loopback addresses are accepted. The mapping describes the
environment, not the account, so the admin reset keeps it.

Each import counts one call of `ecr.BatchImportUpstreamImage` (the permission ECR checks for it), and a fault armed
on that operation makes the import fail with the fault's code, as a missing permission or an upstream outage would.
"""

import base64
import ipaddress
import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from moto.core.exceptions import JsonRESTError
from moto.ecr.models import ECRBackend, Repository
from moto.secretsmanager.models import secretsmanager_backends

import imagestore
from blobstore import BlobStore, DigestMismatch
from faults import FaultBook
from protocol import ApiError

log = logging.getLogger("testbed.ptc")

ACCEPT = ", ".join(imagestore.MANIFEST_TYPES)
TIMEOUT_S = 30


@dataclass
class ImportFailure(Exception):
    """Why an import failed, as a BatchGetImage failure code (ImageFailureCode) and reason."""

    code: str
    reason: str

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


class Upstreams:
    """Which loopback address serves each upstream registry host (e.g. quay.io -> http://127.0.0.1:5001)."""

    def __init__(self, mapping: dict[str, str] | None = None):
        self._lock = threading.Lock()
        self._map: dict[str, str] = {}
        self.update(mapping or {})

    def update(self, mapping: dict) -> dict[str, str]:
        """Adds or replaces addresses (a null address removes the host); returns the whole mapping."""
        checked = {}
        for host, url in mapping.items():
            if not isinstance(host, str) or not host or "/" in host:
                raise ValueError(f"not a registry host: {host!r}")
            if url is not None:
                url = self.check_url(url)
            checked[host.lower()] = url
        with self._lock:
            for host, url in checked.items():
                if url is None:
                    self._map.pop(host, None)
                else:
                    self._map[host] = url
            return dict(self._map)

    @staticmethod
    def check_url(url: object) -> str:
        parsed = urllib.parse.urlsplit(url) if isinstance(url, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        host = parsed.hostname
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise ValueError(f"only loopback addresses may serve an upstream in the testbed, not {host!r}")
        return url.rstrip("/")

    def get(self, host: str) -> str | None:
        with self._lock:
            return self._map.get(host.lower())

    def snapshot(self) -> dict[str, str]:
        with self._lock:
            return dict(self._map)


def _loopback_only(url: str) -> None:
    try:
        Upstreams.check_url(url)
    except ValueError as exc:
        raise ImportFailure("UpstreamUnavailable", f"the upstream sent the testbed to {url}: {exc}") from None


class _NoProxyNoRedirectAuth(urllib.request.HTTPRedirectHandler):
    """Follows redirects only to loopback addresses (a blob on a loopback 'storage' server is fine)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        _loopback_only(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoProxyNoRedirectAuth())


def _parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="...",service="..."` -> ("bearer", {"realm": ..., "service": ...})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {}
    for part in urllib.request.parse_http_list(rest):
        key, _, value = part.partition("=")
        params[key.strip().lower()] = value.strip().strip('"')
    return scheme.lower(), params


class UpstreamClient:
    """Pulls from one upstream repository over the distribution API, answering its auth challenges."""

    def __init__(self, base_url: str, host: str, repository: str, credentials: tuple[str, str] | None):
        self.base_url = base_url
        self.host = host
        self.repository = repository
        self.credentials = credentials
        self._authorization: str | None = None

    def _open(self, path: str, accept: str | None = None):
        url = f"{self.base_url}/v2/{self.repository}/{path}"
        for attempt in range(2):
            request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
            if self._authorization:
                request.add_unredirected_header("Authorization", self._authorization)
            try:
                return _OPENER.open(request, timeout=TIMEOUT_S)
            except urllib.error.HTTPError as exc:
                if exc.code == 401 and attempt == 0 and self._authorization is None:
                    self._authorization = self._authenticate(exc.headers.get("WWW-Authenticate", ""))
                    exc.close()
                    continue
                raise self._failure(exc, path) from None
            except (urllib.error.URLError, OSError) as exc:
                raise ImportFailure(
                    "UpstreamUnavailable", f"The upstream registry {self.host} ({self.base_url}) is unreachable: {exc}"
                ) from None
        raise AssertionError("unreachable")

    def _failure(self, exc: urllib.error.HTTPError, path: str) -> ImportFailure:
        exc.close()
        what = f"{self.host}/{self.repository} ({path})"
        if exc.code == 404:
            return ImportFailure("ImageNotFound", f"The image was not found in the upstream registry: {what}")
        if exc.code in (401, 403):
            return ImportFailure("UpstreamAccessDenied", f"The upstream registry denied access to {what}")
        if exc.code == 429:
            return ImportFailure("UpstreamTooManyRequests", f"The upstream registry throttled the pull of {what}")
        return ImportFailure("UpstreamUnavailable", f"The upstream registry answered HTTP {exc.code} for {what}")

    def _authenticate(self, challenge: str) -> str:
        scheme, params = _parse_challenge(challenge)
        denied = ImportFailure(
            "UpstreamAccessDenied",
            f"The upstream registry {self.host} requires authentication and the rule has "
            + ("credentials it refused" if self.credentials else "no credential"),
        )
        basic = None
        if self.credentials:
            basic = "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()
        if scheme == "basic":
            if basic is None:
                raise denied
            return basic
        if scheme != "bearer" or "realm" not in params:
            raise denied
        _loopback_only(params["realm"])
        query = {"scope": f"repository:{self.repository}:pull"}
        if params.get("service"):
            query["service"] = params["service"]
        request = urllib.request.Request(f"{params['realm']}?{urllib.parse.urlencode(query)}")
        if basic:
            request.add_unredirected_header("Authorization", basic)
        try:
            with _OPENER.open(request, timeout=TIMEOUT_S) as response:
                document = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            exc.close()
            raise denied from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ImportFailure("UpstreamUnavailable", f"The token service of {self.host} failed: {exc}") from None
        token = document.get("token") or document.get("access_token")
        if not token:
            raise denied
        return f"Bearer {token}"

    def manifest(self, reference: str) -> tuple[bytes, str | None]:
        """(manifest bytes, media type) of a tag or digest."""
        with self._open(f"manifests/{reference}", accept=ACCEPT) as response:
            body = response.read(imagestore.MAX_MANIFEST_BYTES + 1)
            media_type = response.headers.get_content_type()
        if media_type not in imagestore.MANIFEST_TYPES:  # e.g. application/json: the manifest's own mediaType says
            media_type = None
        if reference.startswith("sha256:") and imagestore.digest_of(body) != reference:
            raise ImportFailure(
                "ImageNotFound", f"The upstream {self.host} sent a manifest whose digest is not {reference}"
            )
        return body, media_type

    def blob(self, digest: str, store: BlobStore) -> int:
        """Streams a blob into the store, verifying its digest; returns its size."""
        with self._open(f"blobs/{digest}") as response:
            try:
                return store.ingest(iter(lambda: response.read(1 << 20), b""), digest)[1]
            except DigestMismatch as exc:
                raise ImportFailure(
                    "UpstreamUnavailable", f"The upstream {self.host} sent a corrupt blob: {exc}"
                ) from None


class PullThroughCache:
    """Imports images from upstream registries into the ECR state, as pull-through cache rules say."""

    def __init__(
        self,
        faults: FaultBook,
        blobs: BlobStore,
        upstreams: Upstreams,
        rule_for: Callable[[str, str], dict | None],
        template_for: Callable[[str, str, str], dict | None],
    ):
        self.faults = faults
        self.blobs = blobs
        self.upstreams = upstreams
        self.rule_for = rule_for  # (region, repository name) -> the covering rule
        self.template_for = template_for  # (region, repository name, appliedFor) -> the template to apply
        self._locks: dict[tuple, threading.Lock] = defaultdict(threading.Lock)
        self._locks_lock = threading.Lock()

    def covers(self, region: str, repository_name: str) -> dict | None:
        return self.rule_for(region, repository_name)

    def pull(
        self, backend: ECRBackend, region: str, repository_name: str, tag: str | None, digest: str | None
    ) -> tuple[Repository, "imagestore.Image"]:
        """Imports `tag` or `digest` of the repository through its rule; returns the stored image.

        Raises ImportFailure. The caller has checked that a rule covers the name.
        """
        rule = self.rule_for(region, repository_name)
        if rule is None:
            raise ImportFailure("ImageNotFound", "No pull through cache rule covers the repository")
        with self._locks_lock:
            lock = self._locks[(backend.account_id, region, repository_name)]
        with lock:  # one import per repository at a time; a second caller finds the image imported
            repository = backend.repositories.get(repository_name)
            if repository is not None:
                image = imagestore.find_image(repository, tag=tag, digest=digest)
                if image is not None:
                    return repository, image
            self._check_fault()
            return self._import(backend, region, repository_name, rule, tag, digest)

    def _check_fault(self) -> None:
        fault = self.faults.record("ecr", "BatchImportUpstreamImage")
        if fault is None:
            return
        log.info("ecr.BatchImportUpstreamImage: injecting %s", fault.kind)
        if fault.kind == "stall":
            self.faults.stall(fault.stall_seconds)
            return
        error = fault.error()
        raise ImportFailure(error.code, error.message)

    def _import(
        self, backend: ECRBackend, region: str, name: str, rule: dict, tag: str | None, digest: str | None
    ) -> tuple[Repository, "imagestore.Image"]:
        host = rule["upstreamRegistryUrl"]
        base_url = self.upstreams.get(host)
        if base_url is None:
            raise ImportFailure(
                "UpstreamUnavailable",
                f"The upstream registry {host} is unreachable (the testbed has no address for it: "
                f"serve.py --upstream {host}=URL or POST /_testbed/upstreams)",
            )
        client = UpstreamClient(base_url, host, self._upstream_repository(rule, name), self._credentials(rule))
        reference = digest or tag
        body, media_type = client.manifest(reference)
        try:
            document, media_type = imagestore.parse_manifest(body, media_type)
        except ApiError as exc:
            raise ImportFailure(
                "ImageNotFound", f"The upstream {host} sent an unusable manifest: {exc.message}"
            ) from None
        children = []
        for descriptor in imagestore.child_descriptors(document, media_type):
            child_body, child_type = client.manifest(descriptor["digest"])
            try:
                child_document, child_type = imagestore.parse_manifest(child_body, child_type)
            except ApiError as exc:
                raise ImportFailure(
                    "ImageNotFound", f"The upstream {host} sent an unusable manifest: {exc.message}"
                ) from None
            children.append((child_body, child_type, child_document))
        blob_sizes: dict[str, int] = {}
        for _, child_type, child_document in [(body, media_type, document), *children]:
            for descriptor in imagestore.blob_descriptors(child_document, child_type):
                blob_digest = descriptor["digest"]
                if blob_digest in blob_sizes:
                    continue
                size = self.blobs.size(blob_digest)
                blob_sizes[blob_digest] = size if size is not None else client.blob(blob_digest, self.blobs)

        with imagestore.STORE_LOCK:
            repository = backend.repositories.get(name)
            if repository is None:
                template = self.template_for(region, name, "PULL_THROUGH_CACHE")
                repository = imagestore.create_repository(backend, name, template)
                log.info("pull-through: created %s (template %s)", name, template and template["prefix"])
            repository.layers.update(blob_sizes)
            for child_body, child_type, _ in children:
                self._store(repository, child_body, child_type, None)
            image = self._store(repository, body, media_type, None if digest else tag)
        log.info("pull-through: imported %s:%s from %s (%s)", name, reference, host, image.get_image_digest())
        return repository, image

    @staticmethod
    def _store(repository: Repository, body: bytes, media_type: str, tag: str | None):
        try:
            return imagestore.put_manifest(repository, body, media_type, tag)[0]
        except ApiError as exc:
            if exc.code != "ImageAlreadyExistsException":
                raise ImportFailure("ImageInaccessible", exc.message) from None
            return imagestore.find_image(repository, digest=imagestore.digest_of(body))

    @staticmethod
    def _upstream_repository(rule: dict, name: str) -> str:
        prefix = rule["ecrRepositoryPrefix"]
        rest = name if prefix == "ROOT" else name[len(prefix.rstrip("/")) + 1 :]
        upstream_prefix = rule.get("upstreamRepositoryPrefix")
        if upstream_prefix and upstream_prefix != "ROOT":
            return f"{upstream_prefix.rstrip('/')}/{rest}"
        return rest

    @staticmethod
    def _credentials(rule: dict) -> tuple[str, str] | None:
        arn = rule.get("credentialArn")
        if not arn:
            return None
        region, account = arn.split(":")[3:5]
        try:
            value = secretsmanager_backends[account][region].get_secret_value(arn, None, None).get("SecretString")
            document = json.loads(value or "")
            return document["username"], document["accessToken"]
        except (JsonRESTError, ValueError, KeyError, TypeError) as exc:  # deleted, not JSON, keys missing
            raise ImportFailure(
                "UpstreamAccessDenied", f"The pull through cache rule's secret {arn} is not usable: {exc}"
            ) from None
