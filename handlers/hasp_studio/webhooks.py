"""/api/internal/webhooks/{webhook_id}: get, update, delete, receipts, test; and the public
inbound URL `/api/internal/webhooks/{webhook_id}/inbound` (signed, no session)."""

from __future__ import annotations

from typing import Any

from connexion import request

from agentyard.core import http_guard
from agentyard.core.aio import in_thread
from agentyard.hasp import envelope
from agentyard.hasp.studio import inbound, project_webhooks
from generated.hasp_studio.models import WebhookUpdate
from handlers.hasp_studio.cookies import base_url
from handlers.hasp_studio.security import current_member


def get_webhook(webhook_id: str) -> dict[str, Any]:
    row, _ = project_webhooks.find(current_member(), webhook_id, "viewer")
    return envelope.ok(project_webhooks.view(row, base_url()))


def delete_webhook(webhook_id: str) -> dict[str, Any]:
    row = project_webhooks.delete(current_member(), webhook_id)
    return envelope.ok(project_webhooks.view(row, base_url()))


def update_webhook(webhook_id: str, body: dict[str, Any]) -> dict[str, Any]:
    changes = WebhookUpdate.model_validate(body).model_dump(exclude_unset=True, mode="json")
    row = project_webhooks.update(current_member(), webhook_id, changes)
    return envelope.ok(project_webhooks.view(row, base_url()))


def list_webhook_receipts(
    webhook_id: str, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    rows, next_cursor, more = inbound.list_page(current_member(), webhook_id, cursor, limit)
    return envelope.page([inbound.view(r) for r in rows], next_cursor, more)


def test_webhook(webhook_id: str) -> dict[str, Any]:
    member = current_member()
    row, _ = project_webhooks.find(member, webhook_id, "builder")
    if row.direction == "inbound":
        return envelope.ok(inbound.simulate(member, webhook_id))
    return envelope.ok(project_webhooks.send_test(member, webhook_id))


async def receive_inbound_webhook(webhook_id: str, body: Any = None) -> tuple[dict[str, Any], int]:
    raw = http_guard.raw_body(request.scope) or b""
    headers = dict(request.headers)
    receipt = await in_thread(inbound.receive, webhook_id, headers, raw)
    return envelope.ok(inbound.view(receipt)), 202
