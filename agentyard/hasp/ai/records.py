"""Stored inference records, found by bare ULID, `msg_<ulid>` or `req_<ulid>`."""

from __future__ import annotations

import re
from typing import Any

from agentyard.core import clock
from agentyard.core.errors import not_found
from agentyard.core.keys import Tenant
from agentyard.core.store import PreparedInsert
from agentyard.core.tenancy import find_in_tenant
from agentyard.hasp.ai.models import InferenceRecord

_ID = re.compile(r"(?:msg_|req_)?([0-9A-HJKMNP-TV-Z]{26})")
_ADD: PreparedInsert[InferenceRecord] = PreparedInsert(
    InferenceRecord, list(InferenceRecord._meta.fields)
)


def keep(**fields: Any) -> None:
    """Store one record, every field given (once per gateway call: its SQL compiled once)."""
    _ADD.execute(**fields)


def find(org: Tenant, any_id: str) -> InferenceRecord:
    """The org's record for an id in any of its three forms; 404 otherwise."""
    match = _ID.fullmatch(any_id or "")
    if match is None:
        raise not_found("inference record", any_id)
    message = f"No inference record {any_id}"
    return find_in_tenant(InferenceRecord, match.group(1), org, what="record", message=message)


def view(row: InferenceRecord) -> dict[str, Any]:
    return {
        "id": row.id,
        "message_id": f"msg_{row.id}",
        "request_id": f"req_{row.id}",
        "surface": row.surface,
        "conversation_id": row.conversation_id,
        "model": row.model,
        "provider": {"name": row.provider, "offline": row.offline},
        "stored": row.stored,
        "system": row.system,
        "messages": row.messages,
        "output": row.output,
        "stop_reason": row.stop_reason,
        "status": row.status,
        "usage": {
            "model": row.model,
            "input_tokens": row.input_tokens,
            "output_tokens": row.output_tokens,
            "sonnet_equivalent_tokens": row.credits,
            "cost_usd": row.cost_usd,
        },
        "phi": row.phi,
        "audit_entry_id": row.audit_entry_id,
        "created_at": clock.iso(row.created_at),
    }
