"""Who still uses a blob: every product that keeps digests registers a check, and blobs are
deleted only when no product's check claims them.

The store is shared and deduplicated: the same bytes uploaded as a Harnesslayer bundle file
and as a Hyphen document are one blob, so a product's collector must not delete a digest just
because its own rows let go of it. `collect(digests)` asks every registered check (in the
caller's store connection) and spares blobs written within `grace_seconds` (an upload may be
about to reference them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from agentyard.core.blobs.configuration import store

# owner -> whether a row of that owner references the digest
_CHECKS: dict[str, Callable[[str], bool]] = {}

GRACE_SECONDS = 3600


def register_references(owner: str, check: Callable[[str], bool]) -> None:
    """Declare that `owner`'s rows may reference blobs; `check(digest)` tells whether one does.
    Registering `owner` again replaces its check."""
    _CHECKS[owner] = check


def referenced(digest: str) -> bool:
    """Whether any registered owner still references `digest`."""
    return any(check(digest) for check in _CHECKS.values())


def collect(digests: Iterable[str], grace_seconds: float = GRACE_SECONDS) -> int:
    """Delete the blobs of `digests` no owner references and none wrote in the last
    `grace_seconds`; how many were deleted."""
    blob_store = store()
    removed = 0
    for digest in sorted(set(digests)):
        idle = blob_store.idle_for(digest)
        if idle is None or idle < grace_seconds or referenced(digest):
            continue
        removed += bool(blob_store.delete(digest))
    return removed
