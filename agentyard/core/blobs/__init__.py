"""Content-addressed blob storage, signed expiring tokens, upload manifests and zip archives.

Framework-free building blocks for surfaces that take file bundles (declare `{name, hash}`
files, PUT each to a signed URL, complete, download the bundle as a signed archive URL). This
package is the facade: `from agentyard.core import blobs; blobs.X` reaches every public name of
its modules, one per concept:

- `storage`: `BlobStore` / `FileBlobStore`, blobs named by the SHA-256 hex of their bytes.
  Deduplication means a blob may be referenced by several owners: delete only after checking
  no one references it.
- `configuration`: `configure()` / `configure_from_env()` / `config()` / `store()`;
  `configured()` / `restore(saved)` to save and put back the configuration (tests).
- `secret`: the signing key persisted in `core_blob_secret` when none is configured
  (`AGENTYARD_BLOB_SIGNING_KEY`: comma-separated secrets, the first signs, all verify).
- `signing`: `sign(purpose, claims, ttl)` / `verify(token, purpose)`, `agentyard.core.tokens`
  under the blob domain; its errors are both `BlobError`s and `agentyard.core.tokens` errors.
- `uploads`: manifests (`declare`, `DeclaredFile`), `Spool`, `upload_token` / `receive` /
  `receive_spool`, `missing`, `download_token` / `redeem_download`.
- `archives`: deterministic `build_archive`, strict `read_archive`.
- `references`: `register_references(owner, check)`, `referenced(digest)`, `collect(digests)`
  — blobs are deleted only when no product's rows reference them.
- `urls`: `read_url` / `fetch` / `fetch_allowed` / `token_from_url` for client-supplied URLs.

Importing the package registers the `blobs` migration (the `core_blob_secret` table).
"""

from __future__ import annotations

from agentyard.core.blobs.archives import (
    ARCHIVE_DATE,
    ARCHIVE_LEVEL,
    build_archive,
    read_archive,
)
from agentyard.core.blobs.archives import _check_zip_bounds as _check_zip_bounds
from agentyard.core.blobs.configuration import (
    FETCH_ALLOW_ENV,
    FETCH_ALLOW_PRIVATE_ENV,
    MAX_ARCHIVE_BYTES,
    MAX_ARCHIVE_BYTES_ENV,
    MAX_FILE_BYTES,
    MAX_FILE_BYTES_ENV,
    MAX_FILES,
    SIGNING_KEY_ENV,
    BlobConfig,
    config,
    configure,
    configure_from_env,
    configured,
    parse_signing_keys,
    restore,
    store,
)
from agentyard.core.blobs.errors import (
    ArchiveError,
    BlobError,
    BlobNotFoundError,
    ExpiredTokenError,
    HashMismatchError,
    InvalidTokenError,
    ManifestError,
    RefusedURLError,
    TokenError,
    TooLargeError,
    WrongPurposeError,
)
from agentyard.core.blobs.references import (
    GRACE_SECONDS as COLLECT_GRACE_SECONDS,
)
from agentyard.core.blobs.references import collect, referenced, register_references
from agentyard.core.blobs.secret import SIGNING_SECRET_NAME, BlobSecret, signing_keys
from agentyard.core.blobs.secret import _secrets as _secrets
from agentyard.core.blobs.secret import _stored_secret as _stored_secret
from agentyard.core.blobs.signing import (
    PURPOSE_DOWNLOAD,
    PURPOSE_UPLOAD,
    Signer,
    sign,
    signer,
    verify,
)
from agentyard.core.blobs.storage import BlobStore, FileBlobStore, check_digest, digest_of
from agentyard.core.blobs.uploads import (
    MAX_NAME_LENGTH,
    DeclaredFile,
    Received,
    Spool,
    check_name,
    check_names,
    declare,
    download_token,
    manifest,
    missing,
    parse_hash,
    receive,
    receive_spool,
    redeem_download,
    sri,
    upload_claims,
    upload_token,
)
from agentyard.core.blobs.urls import FETCH_TIMEOUT, fetch, fetch_allowed, read_url, token_from_url
from agentyard.core.tokens import MAX_TOKEN_LENGTH, MIN_SECRET_LENGTH

InvalidToken = InvalidTokenError
ExpiredToken = ExpiredTokenError

__all__ = [
    "COLLECT_GRACE_SECONDS",
    "collect",
    "referenced",
    "register_references",
    "ARCHIVE_DATE",
    "ARCHIVE_LEVEL",
    "FETCH_ALLOW_ENV",
    "FETCH_ALLOW_PRIVATE_ENV",
    "FETCH_TIMEOUT",
    "MAX_ARCHIVE_BYTES",
    "MAX_ARCHIVE_BYTES_ENV",
    "MAX_FILES",
    "MAX_FILE_BYTES",
    "MAX_FILE_BYTES_ENV",
    "MAX_NAME_LENGTH",
    "MAX_TOKEN_LENGTH",
    "MIN_SECRET_LENGTH",
    "PURPOSE_DOWNLOAD",
    "PURPOSE_UPLOAD",
    "SIGNING_KEY_ENV",
    "SIGNING_SECRET_NAME",
    "ArchiveError",
    "BlobConfig",
    "BlobError",
    "BlobNotFoundError",
    "BlobSecret",
    "BlobStore",
    "DeclaredFile",
    "ExpiredToken",
    "ExpiredTokenError",
    "FileBlobStore",
    "HashMismatchError",
    "InvalidToken",
    "InvalidTokenError",
    "ManifestError",
    "Received",
    "RefusedURLError",
    "Signer",
    "Spool",
    "TokenError",
    "TooLargeError",
    "WrongPurposeError",
    "build_archive",
    "check_digest",
    "check_name",
    "check_names",
    "config",
    "configure",
    "configure_from_env",
    "configured",
    "declare",
    "digest_of",
    "download_token",
    "fetch",
    "fetch_allowed",
    "manifest",
    "missing",
    "parse_hash",
    "parse_signing_keys",
    "read_archive",
    "read_url",
    "receive",
    "receive_spool",
    "redeem_download",
    "restore",
    "sign",
    "signer",
    "signing_keys",
    "sri",
    "store",
    "token_from_url",
    "upload_claims",
    "upload_token",
    "verify",
]
