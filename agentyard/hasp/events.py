"""What the HASP AI control plane records and announces: audit entries and webhook events.

`audit()` appends to the org's signed, hash-chained audit log (never PHI: ids, counts, types).
`notify()` queues a signed delivery to every live endpoint of the org subscribed to the event.
`emit()` does both for an action a caller took.
"""

from __future__ import annotations

from typing import Any

from agentyard.core import audit as audit_log
from agentyard.core import request_context
from agentyard.core.errors import ApiError
from agentyard.core.keys import Tenant
from agentyard.hasp import cursors, webhook_fanout
from agentyard.hasp.caller import Caller

# Actions that are also webhook events (the rest are audit-only).
WEBHOOK_EVENTS = (
    "ai.inference.completed",
    "ai.phi.detected",
    "budget.threshold_reached",
    "api_key.created",
    "api_key.revoked",
    "baa.accepted",
)


def audit(
    org: Tenant,
    action: str,
    entity_type: str | None,
    entity_id: str | None,
    metadata: dict[str, Any] | None = None,
    *,
    key_id: str | None = None,
    phi_disposition: str | None = None,
) -> str:
    """Append an audit entry for `org`; its id."""
    info = request_context.current()
    meta = dict(metadata or {})
    if key_id:
        meta.setdefault("api_key_id", key_id)
    if info is not None:
        meta.setdefault("request_id", info.request_id)
    entry = audit_log.append(
        org,
        action,
        entity_type,
        entity_id,
        org_id=org.id,
        ip_address=info.client_ip if info else None,
        metadata=meta,
        phi_disposition=phi_disposition,
    )
    return entry.id


def audit_page(
    org: Tenant,
    action: str | None,
    entity_type: str | None,
    entity_id: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[audit_log.AuditEntry], str | None]:
    """One page of `org`'s audit entries, newest first, and HASP's cursor of the next page."""
    try:
        rows, after = audit_log.query(
            org, action, entity_type, entity_id, cursors.audit_to_core(cursor), limit
        )
    except audit_log.AuditError as exc:
        raise ApiError(400, "VALIDATION_FAILED", str(exc)) from exc
    return rows, cursors.audit_from_core(after)


def notify(org: Tenant, event: str, data: dict[str, Any]) -> int:
    """Queue `event` to the org's endpoints subscribed to it; how many deliveries."""
    return webhook_fanout.deliver(org, event, data)


def notify_all(org: Tenant, announcements: list[tuple[str, dict[str, Any]]]) -> int:
    """`notify` for several events at once (the org's endpoints read once)."""
    return webhook_fanout.deliver_all(org, announcements)


def emit(
    caller: Caller,
    action: str,
    entity_type: str,
    entity_id: str,
    metadata: dict[str, Any] | None = None,
) -> str:
    """Audit an action of `caller` and, when it is a webhook event, announce it."""
    entry_id = audit(caller.org, action, entity_type, entity_id, metadata, key_id=caller.key.id)
    if action in WEBHOOK_EVENTS:
        notify(
            caller.org,
            action,
            {"entity_type": entity_type, "entity_id": entity_id, **(metadata or {})},
        )
    return entry_id
