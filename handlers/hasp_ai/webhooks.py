"""/v1/webhooks: list, register, remove."""

from __future__ import annotations

from typing import Any

from agentyard.hasp import envelope, webhooks
from generated.hasp_ai.models import WebhookCreateRequest
from handlers.hasp_ai.security import require


def listWebhooks(cursor: str | None = None, limit: int = 20) -> dict[str, Any]:
    rows, next_cursor, more = webhooks.list_page(require("control:webhooks").org, cursor, limit)
    return envelope.page([webhooks.view(r) for r in rows], next_cursor, more)


def createWebhook(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = WebhookCreateRequest.model_validate(body)
    row, secret = webhooks.create(require("control:webhooks"), req.model_dump(mode="json"))
    return envelope.ok({**webhooks.view(row), "secret": secret}), 201


def deleteWebhook(endpoint_id: str) -> dict[str, Any]:
    return envelope.ok(webhooks.view(webhooks.delete(require("control:webhooks"), endpoint_id)))
