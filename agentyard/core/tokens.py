"""Signed, expiring, purpose-bound tokens: `<base64url JSON>.<base64url HMAC-SHA256>`.

`Signer(keys, domain=...)` signs with the first key and verifies with every one, so keys can
be rotated (put the new key first, keep the old ones until their tokens have expired). The
payload is `{"p": purpose, "e": expiry (unix seconds), "c": claims}` as compact, sorted JSON;
the MAC covers `domain + payload`, so tokens of two uses sharing keys (blob URLs, OAuth state,
form tokens ...) cannot stand in for each other even when a purpose name collides.

`verify(token, purpose)` returns the claims or raises `InvalidTokenError` (malformed, tampered,
signed with another key), `WrongPurposeError` (an `InvalidTokenError`: genuine, signed for
another purpose) or `ExpiredTokenError`. Tokens are URL-safe and at most `MAX_TOKEN_LENGTH`
characters are accepted.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from agentyard.core import b64

MAX_TOKEN_LENGTH = 4096
MIN_SECRET_LENGTH = 32
DEFAULT_DOMAIN = b"agentyard token v1\0"

TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
"""What a token looks like (a full match): two base64url parts joined by a dot."""


class TokenError(ValueError):
    """A signed token was not accepted."""


class InvalidTokenError(TokenError):
    """Malformed, tampered with, or signed with an unknown key."""


class WrongPurposeError(InvalidTokenError):
    """Genuine, but signed for another purpose."""


class ExpiredTokenError(TokenError):
    """Genuine and for this purpose, but past its expiry."""


def parse_keys(
    value: str | Sequence[str | bytes] | None, *, label: str = "signing keys"
) -> tuple[bytes, ...]:
    """Secrets from a comma-separated string or a sequence, blanks skipped; `ValueError`
    (naming `label`) for one shorter than `MIN_SECRET_LENGTH`."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    keys: list[bytes] = []
    for item in items:
        raw = item.strip().encode() if isinstance(item, str) else bytes(item)
        if not raw:
            continue
        if len(raw) < MIN_SECRET_LENGTH:
            raise ValueError(f"{label} must be at least {MIN_SECRET_LENGTH} characters")
        keys.append(raw)
    return tuple(keys)


class Signer:
    """HMAC-SHA256 tokens under explicit `keys` (the first signs, every one verifies), bound
    to `domain` (one per use of the keys)."""

    def __init__(self, keys: Sequence[bytes], *, domain: bytes = DEFAULT_DOMAIN) -> None:
        if not keys:
            raise ValueError("a signer needs at least one key")
        self.keys = tuple(keys)
        self.domain = domain

    def _mac(self, key: bytes, payload: str) -> bytes:
        return hmac.new(key, self.domain + payload.encode("ascii"), hashlib.sha256).digest()

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
        return f"{payload}.{b64.encode(self._mac(self.keys[0], payload))}"

    def verify(self, token: str, purpose: str, *, now: float | None = None) -> dict[str, Any]:
        """The claims of a genuine, unexpired token for `purpose`."""
        if (
            not isinstance(token, str)
            or len(token) > MAX_TOKEN_LENGTH
            or not TOKEN_SHAPE.fullmatch(token)
        ):
            raise InvalidTokenError("malformed token")
        payload, signature = token.split(".")
        try:
            mac = b64.decode(signature)
        except (binascii.Error, ValueError):
            raise InvalidTokenError("malformed token") from None
        if not any(hmac.compare_digest(mac, self._mac(key, payload)) for key in self.keys):
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
