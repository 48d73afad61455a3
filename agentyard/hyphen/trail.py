"""Security-relevant changes of an org (its secrets, its webhook endpoints) in the org's
hash-chained, signed audit log (`core.audit`), never with a secret's value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentyard.core import audit
from agentyard.core.keys import Tenant


def record(
    org_id: str,
    action: str,
    entity_type: str,
    entity_id: str,
    actor: str,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Append `action` on `entity_type`/`entity_id` by `actor` (a key id) to the org's chain;
    joins the caller's write transaction, so it commits or rolls back with the change."""
    audit.append(
        Tenant.get_by_id(org_id),
        action,
        entity_type,
        entity_id,
        user_id=actor or None,
        org_id=org_id,
        metadata=dict(metadata) if metadata is not None else None,
    )
