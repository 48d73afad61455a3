"""/api/internal/projects/{project_id}/apps: list and create."""

from __future__ import annotations

from typing import Any

from agentyard.hasp import envelope
from agentyard.hasp.studio import apps
from generated.hasp_studio.models import AppCreate
from handlers.hasp_studio.security import current_member


def list_project_apps(
    project_id: str, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    rows, next_cursor, more = apps.list_page(current_member(), project_id, cursor, limit)
    return envelope.page([apps.view(a) for a in rows], next_cursor, more)


def create_project_app(project_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = AppCreate.model_validate(body)
    app = apps.create(current_member(), project_id, req.name, req.slug, req.description or "")
    return envelope.ok(apps.view(app)), 201
