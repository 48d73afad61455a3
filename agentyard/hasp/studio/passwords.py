"""Member passwords: argon2id hashes, and the length rule.

The cost is the operator's (`AGENTYARD_HASP_STUDIO_PASSWORD_TIME_COST`, `..._MEMORY_KIB`;
argon2-cffi's defaults, RFC 9106's second recommendation: 3 passes over 64 MiB). A hash made
with other parameters still verifies, and is replaced by one at the current cost when its
member next signs in (`needs_rehash`).
"""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from agentyard.core import runtime
from agentyard.hasp.studio.errors import invalid

MIN_LENGTH = 12
MAX_LENGTH = 256


@cache
def _hasher_for(time_cost: int, memory_kib: int) -> PasswordHasher:
    # Settings.from_env raises a cost below argon2's floors to them (1 pass, 8 KiB a lane)
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)


def _hasher() -> PasswordHasher:
    settings = runtime.settings()
    return _hasher_for(
        settings.hasp_studio_password_time_cost, settings.hasp_studio_password_memory_kib
    )


@cache
def _dummy(hasher: PasswordHasher) -> str:
    """Verified against when the account does not exist, so a miss costs what a hit costs.
    Made on first use, not at import: one hash is a quarter second every CLI command and
    server start would pay."""
    return hasher.hash(secrets.token_hex(16))


def check(password: str) -> str:
    """`password` when it is acceptable; 422 otherwise."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise invalid(f"A password has {MIN_LENGTH} to {MAX_LENGTH} characters", "password")
    return password


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify(stored: str | None, password: str) -> bool:
    """Whether `password` matches `stored` (None: no account; still costs one verification)."""
    hasher = _hasher()
    try:
        return hasher.verify(stored or _dummy(hasher), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether `stored` was made with other parameters than the current cost."""
    try:
        return _hasher().check_needs_rehash(stored)
    except InvalidHashError:
        return False


def generate() -> str:
    """A first password for the operator to hand over (24 URL-safe characters)."""
    return secrets.token_urlsafe(18)
