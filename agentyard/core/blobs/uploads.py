"""Manifests, spools, uploads and downloads.

`declare(files)` checks a client's manifest (`DeclaredFile`s); `upload_token(file, ttl)` signs
the upload of one file; `receive(token, data)` checks the bytes against the declared hash and
stores them. A large body is streamed instead: check `upload_claims(token)`, write its chunks
to a `Spool` (a temporary file beside the store, hashed and size-capped as it grows), then
`receive_spool(token, spool)`, which moves the file into place without copying it.
`missing(files)` lists the names not stored yet (refuse to complete unless empty).
`download_token(digest, ttl)` / `redeem_download(token)` sign access to one blob.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from agentyard.core import b64
from agentyard.core.blobs.configuration import config, store
from agentyard.core.blobs.errors import (
    BlobNotFoundError,
    HashMismatchError,
    InvalidTokenError,
    ManifestError,
    TooLargeError,
)
from agentyard.core.blobs.signing import PURPOSE_DOWNLOAD, PURPOSE_UPLOAD, sign, verify
from agentyard.core.blobs.storage import DIGEST_SHAPE, BlobStore, check_digest

MAX_NAME_LENGTH = 512

_SRI = re.compile(r"sha256-([A-Za-z0-9+/]{43}|[A-Za-z0-9_-]{43})=?")
_DRIVE = re.compile(r"[A-Za-z]:")


def check_name(name: object) -> str:
    """`name` if it is a safe relative POSIX file path, else `ManifestError`.

    1..512 characters, `/`-separated non-empty segments, none `.` or `..`; no leading `/`,
    drive letter, backslash or control character.
    """
    if not isinstance(name, str) or not name:
        raise ManifestError("a file name must be a non-empty string")
    if len(name) > MAX_NAME_LENGTH:
        raise ManifestError(f"file name longer than {MAX_NAME_LENGTH} characters")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise ManifestError(f"file name {name!r} contains control characters")
    if "\\" in name:
        raise ManifestError(f"file name {name!r} contains a backslash")
    if name.startswith("/") or _DRIVE.match(name):
        raise ManifestError(f"file name {name!r} is absolute")
    for segment in name.split("/"):
        if segment in ("", ".", ".."):
            raise ManifestError(f"file name {name!r} has an empty, '.' or '..' segment")
    return name


def check_names(names: Iterable[str], *, max_files: int | None = None) -> list[str]:
    """Validate a set of file names: each `check_name`, no duplicates, no name that is also
    another's directory (`a` and `a/b`), at most `max_files`. Returns them sorted."""
    limit = config().max_files if max_files is None else max_files
    seen: set[str] = set()
    for name in names:
        check_name(name)
        if name in seen:
            raise ManifestError(f"duplicate file name {name!r}")
        seen.add(name)
        if len(seen) > limit:
            raise ManifestError(f"more than {limit} files")
    for name in seen:
        parts = name.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in seen:
                raise ManifestError(f"{'/'.join(parts[:i])!r} is both a file and a directory")
    return sorted(seen)


def parse_hash(value: object) -> str:
    """The blob digest (hex) of an SRI hash `sha256-<base64 of 32 bytes>` (url-safe base64
    and missing padding are accepted); `ManifestError` otherwise."""
    if not isinstance(value, str) or not _SRI.fullmatch(value):
        raise ManifestError("hash must be 'sha256-' followed by the base64 of 32 bytes")
    encoded = value[len("sha256-") :].rstrip("=")
    return b64.decode(encoded.replace("+", "-").replace("/", "_")).hex()


def sri(digest: str) -> str:
    """The SRI form `sha256-<base64>` of a blob digest."""
    return "sha256-" + base64.b64encode(bytes.fromhex(check_digest(digest))).decode("ascii")


@dataclass(frozen=True)
class DeclaredFile:
    """One declared file: its `name`, canonical SRI `hash`, and blob `digest` (hex)."""

    name: str
    hash: str
    digest: str


def declare(
    files: Iterable[Mapping[str, Any]], *, max_files: int | None = None
) -> list[DeclaredFile]:
    """Validate a client's `files[]` of `{name, hash}`; `ManifestError` names the bad entry."""
    if isinstance(files, Mapping | str | bytes) or not isinstance(files, Iterable):
        raise ManifestError("files must be a list of {name, hash}")
    limit = config().max_files if max_files is None else max_files
    declared: list[DeclaredFile] = []
    for index, item in enumerate(files):
        if index >= limit:
            raise ManifestError(f"more than {limit} files")
        if not isinstance(item, Mapping):
            raise ManifestError(f"files[{index}] must be an object with name and hash")
        try:
            name = check_name(item.get("name"))
            digest = parse_hash(item.get("hash"))
        except ManifestError as exc:
            raise ManifestError(f"files[{index}]: {exc}") from None
        declared.append(DeclaredFile(name=name, hash=sri(digest), digest=digest))
    check_names([f.name for f in declared], max_files=limit)
    return declared


def manifest(files: Iterable[DeclaredFile]) -> dict[str, str]:
    """`{name: digest}` of declared files (what `build_archive` takes)."""
    return {f.name: f.digest for f in files}


class Spool:
    """A file being received in chunks: written to a temporary file next to the store (not
    held in memory) and hashed as it arrives; `TooLargeError` past `max_bytes`. Use it as a
    context manager: the file is removed on exit unless a store took it (`put_spool`)."""

    def __init__(self, max_bytes: int, blob_store: BlobStore | None = None) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.adopted = False
        self._hash = hashlib.sha256()
        where = (blob_store or store()).spool_dir()
        fd, name = tempfile.mkstemp(dir=where, prefix="spool-")
        self.path = Path(name)
        self.file: BinaryIO = os.fdopen(fd, "w+b")

    @property
    def digest(self) -> str:
        return self._hash.hexdigest()

    def write(self, chunk: bytes) -> None:
        """Append `chunk`; `TooLargeError` (nothing more written) once over `max_bytes`."""
        if self.size + len(chunk) > self.max_bytes:
            raise TooLargeError(f"larger than {self.max_bytes} bytes")
        self.file.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def close(self) -> None:
        self.file.close()
        if not self.adopted:
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Received:
    """A stored upload: the file's `name`, its `digest`, and the caller's `claims`."""

    name: str
    digest: str
    claims: dict[str, Any]


def upload_token(
    file: DeclaredFile, ttl_seconds: int, claims: Mapping[str, Any] | None = None
) -> str:
    """A token for PUTting the bytes of `file` (`claims`, e.g. the bundle id, come back in
    `Received.claims`)."""
    return sign(
        PURPOSE_UPLOAD, {"n": file.name, "d": file.digest, "x": dict(claims or {})}, ttl_seconds
    )


def receive(token: str, data: bytes, *, now: float | None = None) -> Received:
    """Check `data` against the upload token's declared hash, then store it.

    Raises the token errors, `TooLargeError` over `max_file_bytes`, `HashMismatchError`.
    Idempotent: the same bytes may be PUT again while the token is valid.
    """
    claims = upload_claims(token, now=now)  # a bad token is refused before anything is written
    limit = config().max_file_bytes
    if len(data) > limit:
        raise TooLargeError(f"{claims['n']}: larger than {limit} bytes")
    with Spool(limit) as spool:
        spool.write(data)
        return receive_spool(token, spool, now=now)


def upload_claims(token: str, *, now: float | None = None) -> dict[str, Any]:
    """The verified claims of an upload token (`n` name, `d` declared digest, `x` caller's
    claims); the token errors otherwise. Check before receiving a streamed body."""
    claims = verify(token, PURPOSE_UPLOAD, now=now)
    name, expected, extra = claims.get("n"), claims.get("d"), claims.get("x")
    if not isinstance(name, str) or not isinstance(expected, str) or not isinstance(extra, dict):
        raise InvalidTokenError("not an upload token")
    return claims


def receive_spool(token: str, spool: Spool, *, now: float | None = None) -> Received:
    """Store what `spool` received if it matches the upload token's declared hash (a file
    streamed to disk: `receive` for bytes already in memory). Raises like `receive`."""
    claims = upload_claims(token, now=now)
    name, expected = claims["n"], claims["d"]
    limit = config().max_file_bytes
    if spool.size > limit:
        raise TooLargeError(f"{name}: larger than {limit} bytes")
    if not hmac.compare_digest(spool.digest, expected):
        raise HashMismatchError(f"{name}: the bytes do not match the declared hash")
    store().put_spool(spool)
    return Received(name=name, digest=spool.digest, claims=claims["x"])


def missing(files: Iterable[DeclaredFile]) -> list[str]:
    """Names of declared files whose bytes are not stored yet (complete only when empty)."""
    blob_store = store()
    return [f.name for f in files if not blob_store.exists(f.digest)]


def download_token(digest: str, ttl_seconds: int, claims: Mapping[str, Any] | None = None) -> str:
    """A token granting read access to the blob `digest` for `ttl_seconds`."""
    return sign(PURPOSE_DOWNLOAD, {"d": check_digest(digest), "x": dict(claims or {})}, ttl_seconds)


def redeem_download(token: str, *, now: float | None = None) -> tuple[str, dict[str, Any]]:
    """The `(digest, claims)` of a download token; `BlobNotFoundError` if the blob is gone."""
    claims = verify(token, PURPOSE_DOWNLOAD, now=now)
    digest, extra = claims.get("d"), claims.get("x")
    if (
        not isinstance(digest, str)
        or not DIGEST_SHAPE.fullmatch(digest)
        or not isinstance(extra, dict)
    ):
        raise InvalidTokenError("not a download token")
    if not store().exists(digest):
        raise BlobNotFoundError(digest)
    return digest, extra
