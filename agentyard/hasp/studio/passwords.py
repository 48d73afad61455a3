"""Member passwords: argon2id hashes (argon2-cffi's defaults), and the length rule."""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from agentyard.hasp.studio.errors import invalid

MIN_LENGTH = 12
MAX_LENGTH = 256
_hasher = PasswordHasher()


@cache
def _dummy() -> str:
    """Verified against when the account does not exist, so a miss costs what a hit costs.
    Made on first use, not at import: one hash is a quarter second every CLI command and
    server start would pay."""
    return _hasher.hash(secrets.token_hex(16))


def check(password: str) -> str:
    """`password` when it is acceptable; 422 otherwise."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise invalid(f"A password has {MIN_LENGTH} to {MAX_LENGTH} characters", "password")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """Whether `password` matches `stored` (None: no account; still costs one verification)."""
    try:
        return _hasher.verify(stored or _dummy(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def generate() -> str:
    """A first password for the operator to hand over (24 URL-safe characters)."""
    return secrets.token_urlsafe(18)
