"""/api/internal/projects/{project_id}/webhooks: list and create (the secret shown once)."""

from __future__ import annotations

from typing import Any

from agentyard.hasp import envelope
from agentyard.hasp.studio import project_webhooks
from generated.hasp_studio.models import WebhookCreate
from handlers.hasp_studio.cookies import base_url
from handlers.hasp_studio.security import current_member


def list_project_webhooks(
    project_id: str, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    rows, next_cursor, more = project_webhooks.list_page(
        current_member(), project_id, cursor, limit
    )
    root = base_url()
    return envelope.page([project_webhooks.view(w, root) for w in rows], next_cursor, more)


def create_project_webhook(project_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = WebhookCreate.model_validate(body).model_dump(exclude_none=True, mode="json")
    row, secret = project_webhooks.create(current_member(), project_id, req)
    return envelope.ok({**project_webhooks.view(row, base_url()), "secret": secret}), 201
