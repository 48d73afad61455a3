"""Content-addressed blob storage: `BlobStore` and the file-system `FileBlobStore`.

Blobs are named by the lowercase SHA-256 hex of their bytes (`digest`), so identical files are
stored once. `FileBlobStore` keeps them at `<data_dir>/blobs/<aa>/<digest>`, written to
`<root>/tmp/` first, fsynced, then renamed into place, so workers sharing the data dir never
see a partial blob. `put()` of an existing blob refreshes its mtime, so a garbage collector can
spare recently written blobs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import BinaryIO, Protocol

from agentyard.core.blobs.errors import BlobNotFoundError


class Spool(Protocol):
    """What a store needs of a received file (`uploads.Spool` is the one there is): its open
    `file`, its `path` and `digest`, and `adopted`, set when the store took the file."""

    file: BinaryIO
    path: Path
    adopted: bool

    @property
    def digest(self) -> str: ...


DIGEST_SHAPE = re.compile(r"[0-9a-f]{64}")


def check_digest(digest: str) -> str:
    """`digest` if it is a lowercase SHA-256 hex string, else `ValueError`."""
    if not isinstance(digest, str) or not DIGEST_SHAPE.fullmatch(digest):
        raise ValueError("a blob digest is 64 lowercase hex characters")
    return digest


def digest_of(data: bytes) -> str:
    """The blob digest (SHA-256 hex) of `data`."""
    return hashlib.sha256(data).hexdigest()


class BlobStore(ABC):
    """Immutable blobs named by the SHA-256 hex of their bytes."""

    @abstractmethod
    def put(self, data: bytes) -> str:
        """Store `data` (idempotent) and return its digest."""

    @abstractmethod
    def open(self, digest: str) -> BinaryIO:
        """A binary file object reading the blob; `BlobNotFoundError` when absent."""

    @abstractmethod
    def exists(self, digest: str) -> bool:
        """Whether the blob is stored."""

    @abstractmethod
    def size(self, digest: str) -> int:
        """The blob's length in bytes; `BlobNotFoundError` when absent."""

    @abstractmethod
    def delete(self, digest: str) -> bool:
        """Remove the blob; whether it was there. Callers check that nothing references it."""

    def idle_for(self, digest: str) -> float | None:
        """Seconds since the blob was last stored (None when absent); `put` of existing
        content refreshes it, so a collector can spare blobs an upload is writing right now."""
        return None

    def get(self, digest: str) -> bytes:
        """The blob's bytes; `BlobNotFoundError` when absent."""
        with self.open(digest) as handle:
            return handle.read()

    def put_spool(self, spool: Spool) -> str:
        """Store the bytes a `Spool` received (hashed as they arrived); the digest. Stores
        that keep files on disk move the spool's file into place instead of copying it."""
        spool.file.seek(0)
        return self.put(spool.file.read())

    def spool_dir(self) -> Path | None:
        """Where a `Spool` for this store writes (None: the system's temporary directory)."""
        return None

    def remove_stale_temp(self, older_than: float) -> int:
        """Delete temporary files (spools, partial writes) a crashed process left behind,
        untouched for `older_than` seconds; how many."""
        return 0


class FileBlobStore(BlobStore):
    """Blobs as files `<root>/<first two hex digits>/<digest>`, written atomically."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        """Where the blob `digest` is (or would be) stored."""
        check_digest(digest)
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = digest_of(data)
        target = self.path(digest)
        if _refresh(target):
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.spool_dir(), prefix=digest[:8] + "-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(target.parent)
        return digest

    def spool_dir(self) -> Path:
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        return tmp_dir

    def remove_stale_temp(self, older_than: float) -> int:
        cutoff = time.time() - older_than
        removed = 0
        for entry in (self.root / "tmp").glob("*"):
            with contextlib.suppress(FileNotFoundError):
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
        return removed

    def put_spool(self, spool: Spool) -> str:
        digest = spool.digest
        target = self.path(digest)
        if _refresh(target):
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        spool.file.flush()
        os.fsync(spool.file.fileno())
        os.replace(spool.path, target)  # same file system: the spool is under `<root>/tmp`
        spool.adopted = True
        _fsync_dir(target.parent)
        return digest

    def open(self, digest: str) -> BinaryIO:
        try:
            return self.path(digest).open("rb")
        except FileNotFoundError:
            raise BlobNotFoundError(digest) from None

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def size(self, digest: str) -> int:
        try:
            return self.path(digest).stat().st_size
        except FileNotFoundError:
            raise BlobNotFoundError(digest) from None

    def idle_for(self, digest: str) -> float | None:
        try:
            return max(0.0, time.time() - self.path(digest).stat().st_mtime)
        except FileNotFoundError:
            return None

    def delete(self, digest: str) -> bool:
        try:
            self.path(digest).unlink()
        except FileNotFoundError:
            return False
        return True


def _refresh(target: Path) -> bool:
    """Whether the blob file `target` is already stored; if so its mtime is refreshed, so
    that garbage collectors spare a blob an upload has just written again."""
    try:
        os.utime(target)
    except FileNotFoundError:
        return False
    return True


def _fsync_dir(path: Path) -> None:
    """Make a rename durable (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
