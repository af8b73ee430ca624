"""Blobs of the emulated ECR registry: content-addressed files in a temporary directory, and upload sessions.

A blob is stored once, whatever repositories hold it: which repositories a blob is *linked* into is moto's
`Repository.layers` (digest -> size), the set BatchCheckLayerAvailability reads. Bytes never stay in memory: uploads
and imports are streamed to a file under `uploads/`, hashed on the way, and renamed to `blobs/<hex>` once their
digest is verified, so a ~200 MB test image costs disk, not memory.
"""

import hashlib
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

CHUNK = 1 << 20


class DigestMismatch(Exception):
    """The bytes received do not have the digest the client named."""

    def __init__(self, expected: str, actual: str):
        super().__init__(f"the content's digest is {actual}, not {expected}")
        self.expected = expected
        self.actual = actual


@dataclass
class Upload:
    """One blob upload session of the registry API (POST .../blobs/uploads/ until PUT ...?digest=).

    `size` counts the bytes kept; `claimed` the bytes the client was told were received, which differ once ECR's
    quirk of dropping a second PATCH body has applied (see registry.py). `parts` and `last_part` (its size) let the
    endpoint enforce ECR's minimum part size."""

    id: str
    account_id: str
    region: str
    repository: str
    path: Path
    size: int = 0
    claimed: int = 0
    parts: int = 0
    last_part: int = 0
    hasher: "hashlib._Hash" = field(default_factory=hashlib.sha256)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def append(self, chunks: Iterable[bytes]) -> int:
        """Appends the chunks to the upload's file; returns how many bytes were added."""
        added = 0
        with open(self.path, "ab") as out:
            for chunk in chunks:
                out.write(chunk)
                self.hasher.update(chunk)
                added += len(chunk)
        self.size += added
        self.claimed += added
        return added

    def discard(self, chunks: Iterable[bytes]) -> int:
        """Reads the chunks and drops them, as if they had been kept; returns how many bytes there were."""
        dropped = sum(len(chunk) for chunk in chunks)
        self.claimed += dropped
        return dropped

    @property
    def digest(self) -> str:
        return "sha256:" + self.hasher.hexdigest()


class BlobStore:
    """Blobs by digest in one temporary directory (deleted by close()), and the open upload sessions."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="testbed-blobs-"))
        self._blobs = self.root / "blobs"
        self._incoming = self.root / "uploads"
        self._blobs.mkdir()
        self._incoming.mkdir()
        self._lock = threading.Lock()
        self._uploads: dict[str, Upload] = {}

    # Stored blobs

    def path(self, digest: str) -> Path:
        algorithm, _, hex_digest = digest.partition(":")
        return self._blobs / f"{algorithm}-{hex_digest}"

    def size(self, digest: str) -> int | None:
        """The blob's size, or None when it is not stored."""
        try:
            return self.path(digest).stat().st_size
        except OSError:
            return None

    def read(self, digest: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The blob's bytes [start, end) in chunks."""
        with open(self.path(digest), "rb") as blob:
            blob.seek(start)
            remaining = (end if end is not None else os.fstat(blob.fileno()).st_size) - start
            while remaining > 0:
                chunk = blob.read(min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk

    def ingest(self, chunks: Iterable[bytes], expected_digest: str | None = None) -> tuple[str, int]:
        """Stores a stream of bytes; returns (digest, size). Raises DigestMismatch (storing nothing) if it is not
        `expected_digest`."""
        temp = self._incoming / f"ingest-{uuid.uuid4().hex}"
        hasher = hashlib.sha256()
        size = 0
        try:
            with open(temp, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    hasher.update(chunk)
                    size += len(chunk)
            digest = "sha256:" + hasher.hexdigest()
            if expected_digest is not None and digest != expected_digest:
                raise DigestMismatch(expected_digest, digest)
            self._commit(temp, digest)
            return digest, size
        finally:
            temp.unlink(missing_ok=True)

    def put_bytes(self, data: bytes) -> str:
        return self.ingest([data])[0]

    def _commit(self, temp: Path, digest: str) -> None:
        os.replace(temp, self.path(digest))  # atomic: a reader sees the whole blob or none

    # Upload sessions

    def start_upload(self, account_id: str, region: str, repository: str) -> Upload:
        upload_id = str(uuid.uuid4())
        upload = Upload(upload_id, account_id, region, repository, self._incoming / f"upload-{upload_id}")
        upload.path.touch()
        with self._lock:
            self._uploads[upload_id] = upload
        return upload

    def upload(self, upload_id: str) -> Upload | None:
        with self._lock:
            return self._uploads.get(upload_id)

    def finish_upload(self, upload: Upload, expected_digest: str) -> int:
        """Ends the session: stores the blob if its digest is `expected_digest` (returns its size), else discards it
        and raises DigestMismatch."""
        self.cancel_upload(upload)
        try:
            if upload.digest != expected_digest:
                raise DigestMismatch(expected_digest, upload.digest)
            self._commit(upload.path, expected_digest)
            return upload.size
        finally:
            upload.path.unlink(missing_ok=True)

    def cancel_upload(self, upload: Upload) -> None:
        with self._lock:
            self._uploads.pop(upload.id, None)

    # Whole store

    def stats(self) -> dict:
        with self._lock:
            uploads = len(self._uploads)
        sizes = [p.stat().st_size for p in self._blobs.iterdir()]
        return {"blobs": len(sizes), "bytes": sum(sizes), "uploads_in_progress": uploads, "root": str(self.root)}

    def reset(self) -> None:
        """Deletes every blob and upload (the repositories that linked them are gone too)."""
        with self._lock:
            self._uploads.clear()
        for directory in (self._blobs, self._incoming):
            for entry in directory.iterdir():
                entry.unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
