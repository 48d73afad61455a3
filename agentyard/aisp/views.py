"""Rows -> the JSON objects the AISP Hub API returns."""

from __future__ import annotations

from typing import Any

from agentyard.aisp.models import Grant, Message, Session
from agentyard.core import clock


def session_view(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "name": session.name,
        "kind": session.kind,
        "realm": session.realm.name,
        "status": session.status,
        "capabilities": session.capability_list,
        "public_key": session.public_key,
        "created_at": clock.iso(session.created_at),
        "last_seen": clock.iso(session.last_seen),
    }


def message_view(message: Message, recipient: str, realm_name: str) -> dict[str, Any]:
    return {
        "id": message.id,
        "from": message.sender,
        "to": recipient,
        "realm": realm_name,
        "category": message.category,
        "sent_at": clock.iso(message.sent_at),
        "payload": message.payload_dict,
        "reply_to": message.reply_to,
    }


def grant_status(grant: Grant) -> str:
    """Stored status, or `expired` for a pending/active grant past its expiry."""
    if (
        grant.status in ("pending", "active")
        and grant.expires_at is not None
        and grant.expires_at <= clock.now()
    ):
        return "expired"
    return grant.status


def grant_view(grant: Grant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "from": grant.requester,
        "to": grant.grantor,
        "capability": grant.capability,
        "namespace": grant.namespace,
        "status": grant_status(grant),
        "expires_at": clock.iso(grant.expires_at),
        "reason": grant.reason,
        "created_at": clock.iso(grant.created_at),
    }
