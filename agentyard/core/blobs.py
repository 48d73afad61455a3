"""Content-addressed blob storage, signed expiring tokens, upload manifests and zip archives.

Framework-free building blocks for surfaces that take file bundles (declare `{name, hash}`
files, PUT each to a signed URL, complete, download the bundle as a signed archive URL).

Storage. `BlobStore` is the interface (`put`, `get`, `open`, `exists`, `size`, `delete`); blobs
are named by the lowercase SHA-256 hex of their bytes (`digest`), so identical files are stored
once. `FileBlobStore` keeps them at `<data_dir>/blobs/<aa>/<digest>`, written to
`<root>/tmp/` first, fsynced, then renamed into place, so workers sharing the data dir never see
a partial blob. Deduplication means a blob may be referenced by several owners: delete only
after checking no one references it. `put()` of an existing blob refreshes its mtime, so a
garbage collector can spare recently written blobs (a put racing a delete is otherwise lost).

Tokens. `sign(purpose, claims, ttl)` -> `<base64url JSON>.<base64url HMAC-SHA256>`, URL-safe;
`verify(token, purpose)` returns the claims or raises `InvalidTokenError` (malformed, tampered,
signed with another key), `WrongPurposeError` (an `InvalidTokenError`) or `ExpiredTokenError`.
The key: `configure(signing_keys=...)` (from `AGENTYARD_BLOB_SIGNING_KEY`: one or more
comma-separated secrets of at least 32 characters; the first signs, all verify, so keys can be
rotated), else a random key generated once and kept in `core_blob_secret`, shared by every
worker and restart (insert-if-missing, then read back: racing processes agree). Anyone who can
read that table can forge URLs; set the environment variable in production.

Uploads. `declare(files)` checks a manifest (`DeclaredFile`s); `upload_token(file, ttl)` signs
the upload of one file; `receive(token, data)` checks the bytes against the declared hash and
stores them. A large body is streamed instead: check `upload_claims(token)`, write its chunks
to a `Spool` (a temporary file beside the store, hashed and size-capped as it grows), then
`receive_spool(token, spool)`, which moves the file into place without copying it.
`missing(files)` lists the names not stored yet (refuse to complete unless empty).
`download_token(digest, ttl)` / `redeem_download(token)` sign access to one blob, typically the
bundle archive stored with `put(build_archive(...))`.

Archives. `build_archive({name: digest})` is a deterministic zip (sorted names, fixed
timestamps and modes, deflate level 6: identical bytes for identical input on one zlib build);
`read_archive(data)` returns `{name: bytes}` and refuses unsafe names (NUL included),
duplicates, links, encrypted members, too many files, more than `max_archive_bytes`
uncompressed, and archives that do not read cleanly from their first byte to their last.

URLs. `read_url(url, own_prefixes)` loads the bytes behind a client-supplied URL: one of
agentyard's own download URLs (`<prefix><token>`), or a URL under a configured
`fetch_allow` prefix, fetched through `netguard` (public addresses only unless
`fetch_allow_private`, no redirects, size and time capped); anything else is refused.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import stat
import tempfile
import time
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

import peewee

from agentyard.core import b64, clock, netguard
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, connection, db, write

SIGNING_KEY_ENV = "AGENTYARD_BLOB_SIGNING_KEY"
MAX_FILE_BYTES_ENV = "AGENTYARD_BLOB_MAX_FILE_BYTES"
MAX_ARCHIVE_BYTES_ENV = "AGENTYARD_BLOB_MAX_ARCHIVE_BYTES"
FETCH_ALLOW_ENV = "AGENTYARD_BLOB_FETCH_ALLOW"
FETCH_ALLOW_PRIVATE_ENV = "AGENTYARD_BLOB_FETCH_ALLOW_PRIVATE"

MAX_FILES = 1000
MAX_NAME_LENGTH = 512
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024
MAX_TOKEN_LENGTH = 4096
MIN_SECRET_LENGTH = 32
FETCH_TIMEOUT = 30.0

PURPOSE_UPLOAD = "blob-upload"
PURPOSE_DOWNLOAD = "blob-download"
SIGNING_SECRET_NAME = "url-signing"

ARCHIVE_DATE = (1980, 1, 1, 0, 0, 0)
ARCHIVE_LEVEL = 6

_DIGEST = re.compile(r"[0-9a-f]{64}")
_SRI = re.compile(r"sha256-([A-Za-z0-9+/]{43}|[A-Za-z0-9_-]{43})=?")
_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_DRIVE = re.compile(r"[A-Za-z]:")
_TOKEN_DOMAIN = b"agentyard blob token v1\0"


# --- errors ---------------------------------------------------------------------------------


class BlobError(Exception):
    """Base of this module's errors."""


class BlobNotFoundError(BlobError, LookupError):
    """No blob with that digest is stored."""


class ManifestError(BlobError, ValueError):
    """A declared file list (or a name or hash in it) is not acceptable."""


class HashMismatchError(BlobError, ValueError):
    """Received bytes do not hash to the declared value."""


class TooLargeError(BlobError, ValueError):
    """A file, archive or download exceeds its configured cap."""


class ArchiveError(BlobError, ValueError):
    """An archive is malformed or unsafe (zip-slip names, duplicates, links, bombs)."""


class RefusedURLError(BlobError, ValueError):
    """A URL is neither one of agentyard's own blob URLs nor allowed by configuration, or
    fetching it failed."""


class TokenError(BlobError, ValueError):
    """A signed token was not accepted."""


class InvalidTokenError(TokenError):
    """Malformed, tampered with, or signed with an unknown key."""


class WrongPurposeError(InvalidTokenError):
    """Genuine, but signed for another purpose."""


class ExpiredTokenError(TokenError):
    """Genuine and for this purpose, but past its expiry."""


InvalidToken = InvalidTokenError
ExpiredToken = ExpiredTokenError


# --- configuration --------------------------------------------------------------------------


def parse_signing_keys(value: str | Sequence[str | bytes] | None) -> tuple[bytes, ...]:
    """Signing secrets from a comma-separated string or a sequence (each >= 32 characters)."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    keys: list[bytes] = []
    for item in items:
        raw = item.strip().encode() if isinstance(item, str) else bytes(item)
        if not raw:
            continue
        if len(raw) < MIN_SECRET_LENGTH:
            raise ValueError(f"blob signing keys must be at least {MIN_SECRET_LENGTH} characters")
        keys.append(raw)
    return tuple(keys)


@dataclass(frozen=True)
class BlobConfig:
    """Where blobs live, how tokens are signed, and the size and fetch limits."""

    store: BlobStore
    signing_keys: tuple[bytes, ...] = field(default=(), repr=False)
    max_files: int = MAX_FILES
    max_file_bytes: int = MAX_FILE_BYTES
    max_archive_bytes: int = MAX_ARCHIVE_BYTES
    fetch_allow: tuple[str, ...] = ()
    fetch_allow_private: netguard.AllowList = field(default_factory=netguard.AllowList)


_config: BlobConfig | None = None


def configure(
    data_dir: Path | str | None = None,
    *,
    store: BlobStore | None = None,
    signing_keys: str | Sequence[str | bytes] | None = None,
    max_files: int = MAX_FILES,
    max_file_bytes: int = MAX_FILE_BYTES,
    max_archive_bytes: int = MAX_ARCHIVE_BYTES,
    fetch_allow: str | Iterable[str] | None = None,
    fetch_allow_private: bool | str | Iterable[str] | netguard.AllowList | None = False,
) -> BlobConfig:
    """Set the module's defaults (call once per process, from settings); returns them.

    `store` defaults to `FileBlobStore(<data_dir>/blobs)`. Without `signing_keys`, tokens use
    the key persisted in the database. `fetch_allow`: URL prefixes (comma/space separated)
    that `read_url()` may fetch; `fetch_allow_private`: non-public hosts/CIDRs they may reach.
    """
    global _config
    if store is None:
        store = FileBlobStore(Path(data_dir or "data") / "blobs")
    if isinstance(fetch_allow, str):
        fetch_allow = fetch_allow.replace(",", " ").split()
    prefixes = tuple(_check_prefix(p) for p in (fetch_allow or ()))
    for name, value in (
        ("max_files", max_files),
        ("max_file_bytes", max_file_bytes),
        ("max_archive_bytes", max_archive_bytes),
    ):
        if value <= 0:
            raise ValueError(f"{name} must be positive")
    _config = BlobConfig(
        store=store,
        signing_keys=parse_signing_keys(signing_keys),
        max_files=max_files,
        max_file_bytes=max_file_bytes,
        max_archive_bytes=max_archive_bytes,
        fetch_allow=prefixes,
        fetch_allow_private=netguard.AllowList.parse(fetch_allow_private),
    )
    return _config


def configure_from_env(data_dir: Path | str | None = None) -> BlobConfig:
    """`configure()` from the AGENTYARD_BLOB_* environment variables (and AGENTYARD_DATA_DIR)."""
    env = os.environ
    return configure(
        data_dir or env.get("AGENTYARD_DATA_DIR") or "data",
        signing_keys=env.get(SIGNING_KEY_ENV) or None,
        max_file_bytes=int(env.get(MAX_FILE_BYTES_ENV) or MAX_FILE_BYTES),
        max_archive_bytes=int(env.get(MAX_ARCHIVE_BYTES_ENV) or MAX_ARCHIVE_BYTES),
        fetch_allow=env.get(FETCH_ALLOW_ENV) or None,
        fetch_allow_private=env.get(FETCH_ALLOW_PRIVATE_ENV) or None,
    )


def config() -> BlobConfig:
    """The current configuration (from the environment if `configure()` was never called)."""
    return _config or configure_from_env()


def store() -> BlobStore:
    """The configured blob store."""
    return config().store


# --- storage --------------------------------------------------------------------------------


def check_digest(digest: str) -> str:
    """`digest` if it is a lowercase SHA-256 hex string, else `ValueError`."""
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
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


# --- the persisted signing key ------------------------------------------------------------


class BlobSecret(BaseModel):
    """A server secret for blob URLs, generated once (`name` = its use)."""

    name = peewee.CharField(primary_key=True, max_length=64)
    secret = peewee.TextField()
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "core_blob_secret"


register("blobs", [Migration(1, "blob URL signing secret", create_tables(BlobSecret))])

_secrets: dict[str, tuple[object, bytes]] = {}


def _stored_secret(name: str = SIGNING_SECRET_NAME) -> bytes:
    """The secret `name` from `core_blob_secret`, created on first use (race-safe)."""
    database = db.obj
    cached = _secrets.get(name)
    if cached is not None and cached[0] is database:
        return cached[1]
    with connection():
        row = BlobSecret.get_or_none(BlobSecret.name == name)
        if row is None:
            candidate = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
            with write():
                BlobSecret.insert(
                    name=name, secret=candidate, created_at=clock.now()
                ).on_conflict_ignore().execute()
            row = BlobSecret.get_by_id(name)
    secret = base64.urlsafe_b64decode(row.secret)
    _secrets[name] = (database, secret)
    return secret


def signing_keys() -> tuple[bytes, ...]:
    """The configured signing keys, else the persisted one (created on first use)."""
    return config().signing_keys or (_stored_secret(),)


# --- signed tokens --------------------------------------------------------------------------


def _mac(key: bytes, payload: str) -> bytes:
    return hmac.new(key, _TOKEN_DOMAIN + payload.encode("ascii"), hashlib.sha256).digest()


class Signer:
    """HMAC-SHA256 tokens under explicit `keys` (the first signs, every one verifies)."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("a signer needs at least one key")
        self.keys = tuple(keys)

    def sign(
        self, purpose: str, claims: Mapping[str, Any], ttl_seconds: int, *, now: float | None = None
    ) -> str:
        """A token carrying `claims` for `purpose`, valid for `ttl_seconds` from `now`."""
        if not isinstance(purpose, str) or not purpose:
            raise ValueError("purpose must be a non-empty string")
        expires = int(time.time() if now is None else now) + int(ttl_seconds)
        body = json.dumps(
            {"p": purpose, "e": expires, "c": dict(claims)},
            separators=(",", ":"),
            sort_keys=True,
            ensure_ascii=False,
        )
        payload = b64.encode(body.encode())
        return f"{payload}.{b64.encode(_mac(self.keys[0], payload))}"

    def verify(self, token: str, purpose: str, *, now: float | None = None) -> dict[str, Any]:
        """The claims of a genuine, unexpired token for `purpose`."""
        if (
            not isinstance(token, str)
            or len(token) > MAX_TOKEN_LENGTH
            or not _TOKEN.fullmatch(token)
        ):
            raise InvalidTokenError("malformed token")
        payload, signature = token.split(".")
        try:
            mac = b64.decode(signature)
        except (binascii.Error, ValueError):
            raise InvalidTokenError("malformed token") from None
        if not any(hmac.compare_digest(mac, _mac(key, payload)) for key in self.keys):
            raise InvalidTokenError("bad token signature")
        try:
            body = json.loads(b64.decode(payload))
            token_purpose, expires, claims = body["p"], body["e"], body["c"]
        except (binascii.Error, ValueError, TypeError, KeyError):
            raise InvalidTokenError("malformed token payload") from None
        if not isinstance(expires, int) or not isinstance(claims, dict):
            raise InvalidTokenError("malformed token payload")
        if token_purpose != purpose:
            raise WrongPurposeError(f"token is for {token_purpose!r}, not {purpose!r}")
        if (time.time() if now is None else now) >= expires:
            raise ExpiredTokenError("token expired")
        return claims


def signer() -> Signer:
    """A `Signer` with the current keys (configured, else persisted)."""
    return Signer(signing_keys())


def sign(
    purpose: str, claims: Mapping[str, Any], ttl_seconds: int, *, now: float | None = None
) -> str:
    """A URL-safe token carrying JSON `claims` for `purpose`, expiring after `ttl_seconds`."""
    return signer().sign(purpose, claims, ttl_seconds, now=now)


def verify(token: str, purpose: str, *, now: float | None = None) -> dict[str, Any]:
    """The claims of `token`; `InvalidTokenError` / `WrongPurposeError` / `ExpiredTokenError`."""
    return signer().verify(token, purpose, now=now)


# --- names, hashes and manifests ------------------------------------------------------------


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


# --- uploads and downloads ------------------------------------------------------------------


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
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest) or not isinstance(extra, dict):
        raise InvalidTokenError("not a download token")
    if not store().exists(digest):
        raise BlobNotFoundError(digest)
    return digest, extra


# --- archives -------------------------------------------------------------------------------


def build_archive(files: Mapping[str, str], *, blob_store: BlobStore | None = None) -> bytes:
    """A deterministic zip of exactly `files` (`{name: digest}`), names sorted.

    Entries are regular files, mode 0644, dated 1980-01-01, deflated at level 6. Raises
    `ManifestError` for bad names, `BlobNotFoundError`, `TooLargeError` over `max_archive_bytes`.
    """
    cfg = config()
    source = blob_store or cfg.store
    names = check_names(files, max_files=cfg.max_files)
    total = sum(source.size(check_digest(files[name])) for name in names)
    if total > cfg.max_archive_bytes:
        raise TooLargeError(f"the files hold more than {cfg.max_archive_bytes} bytes")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=ARCHIVE_DATE)
            info.create_system = 3  # unix, so the mode below is honoured
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.get(files[name]), compresslevel=ARCHIVE_LEVEL)
    return buffer.getvalue()


def read_archive(
    data: bytes, *, max_total_bytes: int | None = None, max_files: int | None = None
) -> dict[str, bytes]:
    """The files of a zip, `{name: bytes}` sorted by name; `ArchiveError` when unsafe or
    damaged (the archive is refused as a whole, never read in part).

    Directory entries are checked and skipped. Refused: names failing `check_name` or holding
    NUL (which zipfile would silently cut the name at), duplicates, a name that is also a
    directory, symlinks and other non-regular entries, encrypted entries, more than
    `max_files` files, more than `max_total_bytes` uncompressed (counted while inflating,
    whatever the headers claim), CRC errors, and an archive that does not read cleanly from
    its first byte to its last: it must start with its first entry (or, empty, with its end
    record) and end with its end-of-central-directory record and that record's comment.
    """
    cfg = config()
    cap = cfg.max_archive_bytes if max_total_bytes is None else max_total_bytes
    limit = cfg.max_files if max_files is None else max_files
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:  # BadZipFile, and whatever else crafted bytes provoke
        raise ArchiveError(f"not a readable zip archive: {exc}") from None
    with archive:
        _check_zip_bounds(data)
        infos = archive.infolist()
        if len(infos) > 2 * limit:
            raise ArchiveError(f"more than {limit} files")
        members: list[zipfile.ZipInfo] = []
        names: list[str] = []
        directories: set[str] = set()
        for info in infos:
            mode = info.external_attr >> 16  # unix mode, when made on unix
            if "\x00" in info.orig_filename:
                raise ArchiveError(f"unsafe entry name {info.orig_filename!r}: it holds NUL")
            try:
                if info.filename.endswith("/"):
                    directories.add(check_name(info.filename[:-1]))
                    continue
                check_name(info.filename)
            except ManifestError as exc:
                raise ArchiveError(f"unsafe entry name: {exc}") from None
            if info.create_system == 3 and stat.S_IFMT(mode) not in (0, stat.S_IFREG):
                raise ArchiveError(f"{info.filename!r} is not a regular file")
            if info.flag_bits & 0x1:
                raise ArchiveError(f"{info.filename!r} is encrypted")
            members.append(info)
            names.append(info.filename)
        try:
            check_names(names, max_files=limit)
        except ManifestError as exc:
            raise ArchiveError(str(exc)) from None
        clash = directories.intersection(names)
        if clash:
            raise ArchiveError(f"{sorted(clash)[0]!r} is both a file and a directory")
        if sum(info.file_size for info in members) > cap:
            raise ArchiveError(f"more than {cap} bytes uncompressed")
        total = 0
        out: dict[str, bytes] = {}
        for info in sorted(members, key=lambda i: i.filename):
            chunks: list[bytes] = []
            try:
                with archive.open(info) as member:
                    while chunk := member.read(65536):
                        total += len(chunk)
                        if total > cap:
                            raise ArchiveError(f"more than {cap} bytes uncompressed")
                        chunks.append(chunk)
            except ArchiveError:
                raise
            except Exception as exc:  # BadZipFile (CRC), zlib.error, unsupported methods
                raise ArchiveError(f"cannot read {info.filename!r}: {exc}") from None
            out[info.filename] = b"".join(chunks)
    return out


_ZIP_END = b"PK\x05\x06"  # the end-of-central-directory record: 22 bytes, then its comment
_ZIP_END_SIZE = 22
_ZIP_STARTS = (b"PK\x03\x04", _ZIP_END)  # a first entry, or the end record of an empty zip


def _check_zip_bounds(data: bytes) -> None:
    """`ArchiveError` unless the zip spans `data` exactly: no bytes before its first entry
    (zipfile would skip them) nor after its end record's comment (zipfile ignores them)."""
    if data[:4] not in _ZIP_STARTS:
        raise ArchiveError("the zip archive does not start with its first entry")
    at = data.rfind(_ZIP_END, max(0, len(data) - _ZIP_END_SIZE - 0xFFFF))
    if at < 0 or len(data) < at + _ZIP_END_SIZE:
        raise ArchiveError("not a readable zip archive: no end-of-central-directory record")
    comment = int.from_bytes(data[at + 20 : at + _ZIP_END_SIZE], "little")
    if at + _ZIP_END_SIZE + comment != len(data):
        raise ArchiveError("the zip archive has bytes after the end of its central directory")


# --- client-supplied URLs -------------------------------------------------------------------


def _check_prefix(prefix: str) -> str:
    parts = urlsplit(prefix)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ValueError(f"URL prefix {prefix!r} must be an http(s) URL without a query")
    if parts.username or parts.password or parts.fragment:
        raise ValueError(f"URL prefix {prefix!r} must not have credentials or a fragment")
    return prefix


def _origin_path(url: str) -> tuple[tuple[str, str, int], str, str] | None:
    """((scheme, host, port), path, query) of a clean http(s) URL; None for anything odd
    (credentials, a fragment, backslashes, `.` or `..` segments, even percent-encoded)."""
    if not isinstance(url, str) or len(url) > netguard.MAX_URL_LENGTH:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.username or parts.password or parts.fragment or "#" in url:
        return None
    path = parts.path or "/"
    decoded = unquote(path)
    if "\\" in decoded or any(segment in (".", "..") for segment in decoded.split("/")):
        return None
    default = 443 if scheme == "https" else 80
    return (scheme, parts.hostname.lower().rstrip("."), port or default), path, parts.query


def _under(url: str, prefix: str) -> tuple[str, str] | None:
    """(rest of the path after `prefix`, query) when `url` is under `prefix` (same origin;
    a prefix ending in `/` covers everything below it, otherwise only itself)."""
    target, base = _origin_path(url), _origin_path(prefix)
    if target is None or base is None or target[0] != base[0]:
        return None
    path, root = target[1], base[1]
    if not root.endswith("/"):
        return ("", target[2]) if path == root else None
    return (path[len(root) :], target[2]) if path.startswith(root) else None


def token_from_url(url: str, prefixes: Iterable[str]) -> str | None:
    """The token of an agentyard URL `<prefix><token>` (no query) for one of `prefixes`."""
    for prefix in prefixes:
        found = _under(url, prefix)
        if found is not None and not found[1] and _TOKEN.fullmatch(found[0]):
            return found[0]
    return None


def fetch_allowed(url: str) -> bool:
    """Whether `url` is under a configured `fetch_allow` prefix, i.e. `fetch()` may try it
    (a check before accepting the URL; `fetch()` still refuses hosts resolving to non-public
    addresses)."""
    return any(_under(url, prefix) is not None for prefix in config().fetch_allow)


def fetch(
    url: str,
    *,
    max_bytes: int | None = None,
    timeout: float = FETCH_TIMEOUT,
    resolver: netguard.Resolver | None = None,
) -> bytes:
    """GET `url` if it is under a configured `fetch_allow` prefix, through `netguard`.

    Public addresses only (plus `fetch_allow_private`), https unless the prefix is http,
    no redirects, at most `max_bytes` (default `max_archive_bytes`) within `timeout` seconds.
    Raises `RefusedURLError` (refused or failed) or `TooLargeError`.
    """
    cfg = config()
    cap = cfg.max_archive_bytes if max_bytes is None else max_bytes
    if not fetch_allowed(url):
        raise RefusedURLError("the URL is not an allowed storage location")
    try:
        reply = netguard.request(
            "GET",
            url,
            allow_private=cfg.fetch_allow_private,
            require_https=urlsplit(url).scheme.lower() == "https",
            timeout=timeout,
            max_body=cap + 1,
            resolver=resolver,
        )
    except netguard.RefusedURLError as exc:
        raise RefusedURLError(str(exc)) from None
    except Exception as exc:  # OSError, TimeoutError, http.client.HTTPException, ssl errors
        raise RefusedURLError(f"fetching the URL failed: {exc}") from None
    if reply.status != 200:
        raise RefusedURLError(f"fetching the URL answered HTTP {reply.status}")
    if len(reply.body) > cap:
        raise TooLargeError(f"the URL holds more than {cap} bytes")
    return reply.body


def read_url(url: str, own_prefixes: Iterable[str], *, timeout: float = FETCH_TIMEOUT) -> bytes:
    """The bytes behind a client-supplied URL: an agentyard download URL (`<prefix><token>`,
    token checked, blob read locally, no request made) or an allowed storage URL (`fetch`)."""
    token = token_from_url(url, own_prefixes)
    if token is not None:
        digest, _ = redeem_download(token)
        return store().get(digest)
    return fetch(url, timeout=timeout)
