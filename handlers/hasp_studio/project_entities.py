"""/api/internal/projects/{project_id}/entities: list and create a project's entities."""

from __future__ import annotations

from typing import Any

from agentyard.hasp import envelope
from agentyard.hasp.studio import entities
from generated.hasp_studio.models import EntityCreate
from handlers.hasp_studio.security import current_member


def list_project_entities(
    project_id: str, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    rows, next_cursor, more = entities.list_page(current_member(), project_id, cursor, limit)
    return envelope.page([entities.view(e) for e in rows], next_cursor, more)


def create_project_entity(project_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = EntityCreate.model_validate(body).model_dump(exclude_unset=True, mode="json")
    entity = entities.create(current_member(), project_id, req)
    return envelope.ok(entities.view(entity, 0)), 201
