"""Unpadded URL-safe base64, as tokens, cursors and key material use it."""

from __future__ import annotations

import base64


def encode(data: bytes) -> str:
    """`data` as URL-safe base64 without `=` padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode(text: str) -> bytes:
    """The bytes of `encode`'s output (padding optional); ValueError when it is not base64."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
