"""Grant checks shared by messages, memory and grants: is a capability in force?"""

from __future__ import annotations

from typing import Any

from agentyard.aisp.models import Grant
from agentyard.core import clock

MEMORY_CAPABILITIES = frozenset({"memory.read", "memory.write", "memory.delete"})
CAPABILITIES = MEMORY_CAPABILITIES | {"delegate.receive"}


def pattern_matches(pattern: str, key: str) -> bool:
    """`*` covers all keys, `a.b.*` covers `a.b` and `a.b.<anything>`, else exact."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        base = pattern[:-2]
        return key == base or key.startswith(base + ".")
    return key == pattern


def in_force() -> Any:
    now = clock.now()
    return (Grant.status == "active") & (Grant.expires_at.is_null() | (Grant.expires_at > now))


def patterns_held(holder: str, capability: str) -> dict[str, list[str]]:
    """{grantor: [namespace patterns]} of the grants in force that `holder` holds."""
    held: dict[str, list[str]] = {}
    query = Grant.select(Grant.grantor, Grant.namespace).where(
        (Grant.requester == holder) & (Grant.capability == capability) & in_force()
    )
    for grant in query:
        held.setdefault(grant.grantor, []).append(grant.namespace)
    return held


def holds(holder: str, grantor: str, capability: str, key: str | None = None) -> bool:
    """Whether `holder` may use `grantor`'s `capability` (on `key`)."""
    patterns = patterns_held(holder, capability).get(grantor, [])
    return any(key is None or pattern_matches(p, key) for p in patterns)
