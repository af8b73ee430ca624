"""Small container images built without Docker, pushed to any OCI distribution registry.

The testbed's stand-in upstream registries (Debian `docker-registry` on loopback ports) are seeded with these, and the
Rust integration tests use the same images. Standard library only: layers are tar+gzip made here, configs and
manifests are JSON written here, and pushes use the distribution API (`POST`/`PUT` uploads, `PUT` manifests).

Images in the standard set (`seed`):
  amd64          single-arch linux/amd64, Docker schema 2 media types
  multiarch      OCI index: linux/amd64 + linux/arm64/v8 (+ an attestation-style unknown/unknown entry)
  arm64only      single-arch linux/arm64 image (OCI)
  arm64index     OCI index with only linux/arm64/v8
  entrypoint     linux/amd64 with ENTRYPOINT set
  tmpfiles       linux/amd64 with files under /tmp
  reserved-env   linux/amd64 with AWS_WORKFLOW_X in its environment

Command line:
  python3 oci_images.py seed http://127.0.0.1:5000 [--prefix test] [--user U --password P]
  python3 oci_images.py big http://127.0.0.1:5000 bench/big:1 [--size-mb 200] [--layers 4]
Both print JSON describing what was pushed (repository, tag, digest, media type, platforms).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_layer(files: dict[str, bytes], level: int = 6) -> tuple[bytes, str]:
    """A gzip'd tar of `files` (path -> content; a path ending in `/` is a directory).

    Returns (compressed bytes, diff_id). Timestamps are zero so the same files give the same digest.
    """
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(files):
            info = tarfile.TarInfo(path.rstrip("/"))
            info.mtime = 0
            if path.endswith("/"):
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                data = files[path]
                info.size = len(data)
                info.mode = 0o755 if path.startswith("usr/bin/") else 0o644
                tar.addfile(info, io.BytesIO(data))
    uncompressed = raw.getvalue()
    compressed = gzip.compress(uncompressed, compresslevel=level, mtime=0)
    return compressed, sha256(uncompressed)


@dataclass
class Image:
    """One single-platform image: config, layers and manifest, all as bytes."""

    config: bytes
    layers: list[bytes]
    manifest: bytes
    media_type: str
    platform: dict

    @property
    def digest(self) -> str:
        return sha256(self.manifest)

    def blobs(self) -> list[bytes]:
        return [self.config, *self.layers]


@dataclass
class Index:
    """A multi-arch index over single-platform images."""

    images: list[Image]
    manifest: bytes
    media_type: str = OCI_INDEX
    extra_blobs: list[bytes] = field(default_factory=list)
    extra_manifests: list[tuple[bytes, str]] = field(default_factory=list)

    @property
    def digest(self) -> str:
        return sha256(self.manifest)


def build_image(
    arch: str = "amd64",
    files: dict[str, bytes] | None = None,
    entrypoint: list[str] | None = None,
    env: list[str] | None = None,
    cmd: list[str] | None = None,
    docker: bool = False,
    variant: str | None = None,
    extra_layers: list[tuple[bytes, str]] | None = None,
) -> Image:
    """A linux image for `arch` with one layer of `files` (plus `extra_layers`, as from make_layer)."""
    files = files if files is not None else {"usr/": b"", "usr/bin/": b"", "usr/bin/tool": f"tool for {arch}\n".encode()}
    layers = [make_layer(files), *(extra_layers or [])]
    run_config: dict = {"Env": env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": cmd or ["/bin/bash"]}
    if entrypoint is not None:
        run_config["Entrypoint"] = entrypoint
    config_doc = {
        "architecture": arch,
        "os": "linux",
        "config": run_config,
        "rootfs": {"type": "layers", "diff_ids": [diff_id for _, diff_id in layers]},
        "history": [{"created_by": "oci_images.py"}],
    }
    if variant:
        config_doc["variant"] = variant
    config = json.dumps(config_doc, sort_keys=True, separators=(",", ":")).encode()
    layer_type, config_type, manifest_type = (DOCKER_LAYER, DOCKER_CONFIG, DOCKER_MANIFEST) if docker else (OCI_LAYER, OCI_CONFIG, OCI_MANIFEST)
    manifest = {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {"mediaType": config_type, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": layer_type, "digest": sha256(blob), "size": len(blob)} for blob, _ in layers],
    }
    platform = {"os": "linux", "architecture": arch}
    if variant:
        platform["variant"] = variant
    return Image(
        config=config,
        layers=[blob for blob, _ in layers],
        manifest=json.dumps(manifest, indent=3).encode(),  # not canonical on purpose: a copy must keep the bytes
        media_type=manifest_type,
        platform=platform,
    )


def build_index(images: list[Image], attestation: bool = False) -> Index:
    """An OCI index over `images`; with `attestation`, also an `unknown/unknown` entry as buildx adds."""
    entries = [
        {"mediaType": img.media_type, "digest": img.digest, "size": len(img.manifest), "platform": img.platform}
        for img in images
    ]
    extra_blobs: list[bytes] = []
    extra_manifests: list[tuple[bytes, str]] = []
    if attestation:
        statement = b'{"_type":"https://in-toto.io/Statement/v0.1"}'
        config = b"{}"
        att = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config), "size": len(config)},
                "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": sha256(statement), "size": len(statement)}],
            }
        ).encode()
        extra_blobs = [config, statement]
        extra_manifests = [(att, OCI_MANIFEST)]
        entries.append(
            {
                "mediaType": OCI_MANIFEST,
                "digest": sha256(att),
                "size": len(att),
                "platform": {"os": "unknown", "architecture": "unknown"},
                "annotations": {"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": images[0].digest},
            }
        )
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}, indent=2).encode()
    return Index(images=images, manifest=manifest, extra_blobs=extra_blobs, extra_manifests=extra_manifests)


class Registry:
    """A minimal distribution-API client for pushing: monolithic blob uploads, manifest PUTs."""

    def __init__(self, base_url: str, user: str | None = None, password: str | None = None, timeout: float = 60):
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.headers = {}
        if user is not None:
            token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"

    def _request(self, method: str, url: str, data=None, headers: dict | None = None, length: int | None = None):
        if not url.startswith("http"):
            url = self.base + url
        req = urllib.request.Request(url, data=data, method=method, headers={**self.headers, **(headers or {})})
        if length is not None:
            req.add_header("Content-Length", str(length))
        return urllib.request.urlopen(req, timeout=self.timeout)

    def blob_exists(self, repo: str, digest: str) -> bool:
        try:
            with self._request("HEAD", f"/v2/{repo}/blobs/{digest}"):
                return True
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return False
            raise

    def push_blob(self, repo: str, data: bytes) -> str:
        digest = sha256(data)
        if self.blob_exists(repo, digest):
            return digest
        with self._request("POST", f"/v2/{repo}/blobs/uploads/", data=b"", length=0) as resp:
            location = resp.headers["Location"]
        location = urllib.parse.urljoin(self.base + "/", location)
        sep = "&" if "?" in location else "?"
        url = f"{location}{sep}digest={urllib.parse.quote(digest)}"
        with self._request("PUT", url, data=data, headers={"Content-Type": "application/octet-stream"}, length=len(data)):
            pass
        return digest

    def push_manifest(self, repo: str, reference: str, manifest: bytes, media_type: str) -> str:
        with self._request("PUT", f"/v2/{repo}/manifests/{reference}", data=manifest, headers={"Content-Type": media_type}, length=len(manifest)) as resp:
            return resp.headers.get("Docker-Content-Digest", sha256(manifest))

    def push_image(self, repo: str, tag: str | None, image: Image) -> str:
        for blob in image.blobs():
            self.push_blob(repo, blob)
        return self.push_manifest(repo, tag or image.digest, image.manifest, image.media_type)

    def push_index(self, repo: str, tag: str, index: Index) -> str:
        for image in index.images:
            self.push_image(repo, None, image)
        for blob in index.extra_blobs:
            self.push_blob(repo, blob)
        for manifest, media_type in index.extra_manifests:
            self.push_manifest(repo, sha256(manifest), manifest, media_type)
        return self.push_manifest(repo, tag, index.manifest, index.media_type)


def standard_images() -> dict[str, Image | Index]:
    """The standard set, by name (see the module doc)."""
    amd = build_image("amd64")
    arm = build_image("arm64", variant="v8")
    return {
        "amd64": build_image("amd64", docker=True, files={"usr/": b"", "usr/bin/": b"", "usr/bin/hello": b"#!/bin/sh\necho hello\n", "etc/motd": b"docker schema 2\n"}),
        "multiarch": build_index([amd, arm], attestation=True),
        "arm64only": build_image("arm64", variant="v8", files={"usr/bin/": b"", "usr/bin/tool": b"arm only\n"}),
        "arm64index": build_index([build_image("arm64", variant="v8", files={"opt/": b"", "opt/arm": b"arm\n"})]),
        "entrypoint": build_image("amd64", entrypoint=["/usr/bin/tini", "--"], files={"usr/bin/": b"", "usr/bin/tini": b"tini\n"}),
        "tmpfiles": build_image("amd64", files={"tmp/": b"", "tmp/reference/": b"", "tmp/reference/genome.fa": b">chr1\nACGT\n", "usr/bin/": b"", "usr/bin/tool": b"x\n"}),
        "reserved-env": build_image("amd64", env=["PATH=/usr/bin:/bin", "AWS_WORKFLOW_X=1"]),
    }


def describe(name: str, repo: str, tag: str, item: Image | Index) -> dict:
    out = {"name": name, "repository": repo, "tag": tag, "digest": item.digest, "media_type": item.media_type}
    if isinstance(item, Index):
        out["platforms"] = [
            {"platform": img.platform, "digest": img.digest, "media_type": img.media_type, "config": sha256(img.config), "layers": [sha256(layer) for layer in img.layers]}
            for img in item.images
        ]
    else:
        out["platform"] = item.platform
        out["config"] = sha256(item.config)
        out["layers"] = [sha256(layer) for layer in item.layers]
        out["size"] = sum(len(b) for b in item.blobs())
    return out


def seed(base_url: str, prefix: str = "test", tag: str = "1", user: str | None = None, password: str | None = None) -> dict[str, dict]:
    """Pushes the standard set as `<prefix>/<name>:<tag>`; returns their descriptions by name."""
    registry = Registry(base_url, user, password)
    pushed = {}
    for name, item in standard_images().items():
        repo = f"{prefix}/{name}"
        if isinstance(item, Index):
            registry.push_index(repo, tag, item)
        else:
            registry.push_image(repo, tag, item)
        pushed[name] = describe(name, repo, tag, item)
    return pushed


def push_big(base_url: str, reference: str, size_mb: int = 200, layers: int = 4, user: str | None = None, password: str | None = None) -> dict:
    """Pushes a linux/amd64 image of about `size_mb` MB of incompressible data in `layers` layers (for benchmarks)."""
    repo, _, tag = reference.partition(":")
    per_layer = max(1, size_mb * 1024 * 1024 // layers)
    extra = [make_layer({f"data/blob{i}.bin": os.urandom(per_layer)}, level=1) for i in range(layers - 1)]
    image = build_image("amd64", files={"data/": b"", "data/blob.bin": os.urandom(per_layer)}, extra_layers=extra)
    Registry(base_url, user, password, timeout=600).push_image(repo, tag or "latest", image)
    return describe("big", repo, tag or "latest", image)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("seed", help="push the standard test images")
    s.add_argument("registry")
    s.add_argument("--prefix", default="test")
    s.add_argument("--tag", default="1")
    b = sub.add_parser("big", help="push one large image for benchmarks")
    b.add_argument("registry")
    b.add_argument("reference")
    b.add_argument("--size-mb", type=int, default=200)
    b.add_argument("--layers", type=int, default=4)
    for p in (s, b):
        p.add_argument("--user")
        p.add_argument("--password")
    args = parser.parse_args(argv)
    if args.command == "seed":
        result = seed(args.registry, args.prefix, args.tag, args.user, args.password)
    else:
        result = push_big(args.registry, args.reference, args.size_mb, args.layers, args.user, args.password)
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
