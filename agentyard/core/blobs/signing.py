"""Blob URL tokens: `agentyard.core.tokens` under the blob domain and the blob signing keys
(configured, else the persisted one), raising the blob token errors. Tokens signed before the
signer moved to `agentyard.core.tokens` verify unchanged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agentyard.core import tokens
from agentyard.core.blobs.errors import as_blob_error
from agentyard.core.blobs.secret import signing_keys

PURPOSE_UPLOAD = "blob-upload"
PURPOSE_DOWNLOAD = "blob-download"
TOKEN_DOMAIN = b"agentyard blob token v1\0"


class Signer(tokens.Signer):
    """A `tokens.Signer` for blob URLs: the blob token domain unless told otherwise."""

    def __init__(self, keys: Sequence[bytes], *, domain: bytes = TOKEN_DOMAIN) -> None:
        super().__init__(keys, domain=domain)

    def verify(self, token: str, purpose: str, *, now: float | None = None) -> dict[str, Any]:
        """The claims of a genuine, unexpired token for `purpose`; the blob token errors."""
        try:
            return super().verify(token, purpose, now=now)
        except tokens.TokenError as exc:
            raise as_blob_error(exc) from None


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
