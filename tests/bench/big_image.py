"""A large linux/amd64 image of random (incompressible) bytes, written to disk layer by layer and pushed to a registry
without ever holding a layer in memory — for the copy benchmarks of tests/bench/run.py, where the image is 2 GiB.

oci_images.push_big builds its layers in memory and gzips them at level 1; at 2 GiB that costs gigabytes of memory
and a minute of CPU. Here each layer is a tar of one random file, gzip'd at level 0 (stored blocks: the bytes are
random anyway), streamed to a file while both digests (the blob's and the uncompressed diff_id) are computed, pushed
with one monolithic PUT per blob, and deleted.
"""

import gzip
import hashlib
import json
import os
import tarfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CHUNK = 1 << 20


class _Hashing:
    """A write-only file that hashes and counts what passes through it to `inner`."""

    def __init__(self, inner):
        self.inner = inner
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.inner.write(data)

    def flush(self) -> None:
        self.inner.flush()

    def digest(self) -> str:
        return "sha256:" + self.sha.hexdigest()


class _Random:
    """A read-only file of `size` random bytes, made as they are read."""

    def __init__(self, size: int):
        self.left = size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return os.urandom(n)


@dataclass
class Blob:
    digest: str
    size: int
    path: Path | None = None  # a layer on disk until pushed
    data: bytes = b""  # the config


def write_layer(path: Path, index: int, size: int) -> tuple[Blob, str]:
    """One layer of `size` random bytes at `path`; returns the blob and its diff_id."""
    with open(path, "wb") as out:
        blob = _Hashing(out)
        with gzip.GzipFile(fileobj=blob, mode="wb", compresslevel=0, mtime=0) as gz:
            raw = _Hashing(gz)
            with tarfile.open(fileobj=raw, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                info = tarfile.TarInfo(f"data/blob{index}.bin")
                info.size = size
                info.mtime = 0
                info.mode = 0o644
                tar.addfile(info, _Random(size))
    return Blob(blob.digest(), blob.size, path=path), raw.digest()


class Registry:
    """A distribution-API client that pushes blobs from files (anonymous: the benchmark's own registry)."""

    def __init__(self, base_url: str):
        self.base = base_url.rstrip("/")

    def _open(self, method: str, url: str, data=None, headers: dict | None = None):
        request = urllib.request.Request(url if url.startswith("http") else self.base + url, data=data, method=method)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        return urllib.request.urlopen(request, timeout=600)

    def push_blob(self, repo: str, blob: Blob) -> None:
        with self._open("POST", f"/v2/{repo}/blobs/uploads/", data=b"") as response:
            location = urllib.parse.urljoin(self.base + "/", response.headers["Location"])
        url = f"{location}{'&' if '?' in location else '?'}digest={urllib.parse.quote(blob.digest)}"
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(blob.size)}
        if blob.path is None:
            with self._open("PUT", url, data=blob.data, headers=headers):
                return
        with open(blob.path, "rb") as body, self._open("PUT", url, data=body, headers=headers):
            pass

    def push_manifest(self, repo: str, tag: str, manifest: bytes) -> None:
        headers = {"Content-Type": OCI_MANIFEST}
        with self._open("PUT", f"/v2/{repo}/manifests/{tag}", data=manifest, headers=headers):
            pass


def push_random_image(base_url: str, repo: str, tag: str, size_mib: int, layers: int, scratch: Path) -> dict:
    """Pushes `repo:tag`, about `size_mib` MiB of random data in `layers` layers, to the registry at `base_url`.
    Returns its manifest digest, blob sizes and total size. Uses at most one layer of disk in `scratch`."""
    registry = Registry(base_url)
    per_layer = size_mib * 1024 * 1024 // layers
    descriptors, diff_ids = [], []
    for i in range(layers):
        blob, diff_id = write_layer(scratch / f"layer-{i}.tar.gz", i, per_layer)
        try:
            registry.push_blob(repo, blob)
        finally:
            os.unlink(blob.path)
        descriptors.append({"mediaType": OCI_LAYER, "digest": blob.digest, "size": blob.size})
        diff_ids.append(diff_id)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        },
        separators=(",", ":"),
    ).encode()
    config_blob = Blob("sha256:" + hashlib.sha256(config).hexdigest(), len(config), data=config)
    registry.push_blob(repo, config_blob)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_blob.digest, "size": config_blob.size},
            "layers": descriptors,
        },
        separators=(",", ":"),
    ).encode()
    registry.push_manifest(repo, tag, manifest)
    return {
        "reference": f"{repo}:{tag}",
        "digest": "sha256:" + hashlib.sha256(manifest).hexdigest(),
        "layers": len(descriptors),
        "bytes": config_blob.size + sum(d["size"] for d in descriptors),
    }
