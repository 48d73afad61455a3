"""The package's configuration: the blob store, signing keys, size limits and fetch policy.

`configure()` once per process (from settings: `configure_from_env()` reads them through
`agentyard.config.Settings`); `config()` and `store()` answer the current values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from agentyard.config import Settings
from agentyard.core import netguard, tokens
from agentyard.core.blobs.storage import BlobStore, FileBlobStore

# The environment variables (read by agentyard.config.Settings; the names stay for callers).
SIGNING_KEY_ENV = "AGENTYARD_BLOB_SIGNING_KEY"
MAX_FILE_BYTES_ENV = "AGENTYARD_BLOB_MAX_FILE_BYTES"
MAX_ARCHIVE_BYTES_ENV = "AGENTYARD_BLOB_MAX_ARCHIVE_BYTES"
FETCH_ALLOW_ENV = "AGENTYARD_BLOB_FETCH_ALLOW"
FETCH_ALLOW_PRIVATE_ENV = "AGENTYARD_BLOB_FETCH_ALLOW_PRIVATE"

MAX_FILES = 1000
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024


def parse_signing_keys(value: str | Sequence[str | bytes] | None) -> tuple[bytes, ...]:
    """Signing secrets from a comma-separated string or a sequence (each >= 32 characters)."""
    return tokens.parse_keys(value, label="blob signing keys")


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
    """Set the package's defaults (call once per process, from settings); returns them.

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


def configure_from_env(
    data_dir: Path | str | None = None, *, settings: Settings | None = None
) -> BlobConfig:
    """`configure()` from the AGENTYARD_BLOB_* settings (and AGENTYARD_DATA_DIR), read by
    `Settings.from_env()` unless `settings` are given."""
    s = settings or Settings.from_env()
    return configure(
        data_dir or s.data_dir,
        signing_keys=s.blob_signing_key,
        max_file_bytes=s.blob_max_file_bytes,
        max_archive_bytes=s.blob_max_archive_bytes,
        fetch_allow=s.blob_fetch_allow,
        fetch_allow_private=s.blob_fetch_allow_private,
    )


def configured() -> BlobConfig | None:
    """The configuration `configure()` set, or None when it was never called (nor since
    `restore(None)`): what a test saves before reconfiguring, and gives back to `restore`."""
    return _config


def restore(saved: BlobConfig | None) -> None:
    """Put back a configuration `configured()` returned (None: read the environment again
    on next use)."""
    global _config
    _config = saved


def config() -> BlobConfig:
    """The current configuration (from the environment if `configure()` was never called)."""
    return _config or configure_from_env()


def store() -> BlobStore:
    """The configured blob store."""
    return config().store


def _check_prefix(prefix: str) -> str:
    parts = urlsplit(prefix)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ValueError(f"URL prefix {prefix!r} must be an http(s) URL without a query")
    if parts.username or parts.password or parts.fragment:
        raise ValueError(f"URL prefix {prefix!r} must not have credentials or a fragment")
    return prefix
