"""/api/internal/projects: create, list, get, update, archive."""

from __future__ import annotations

from typing import Any

from agentyard.hasp import envelope
from agentyard.hasp.studio import projects
from generated.hasp_studio.models import ProjectCreate, ProjectUpdate
from handlers.hasp_studio.security import current_member


def list_projects(
    cursor: str | None = None, limit: int = 50, include_archived: bool = False
) -> dict[str, Any]:
    rows, next_cursor, more = projects.list_page(
        current_member(), bool(include_archived), cursor, limit
    )
    return envelope.page([projects.view(p, role) for p, role in rows], next_cursor, more)


def create_project(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = ProjectCreate.model_validate(body)
    project = projects.create(current_member(), req.name, req.slug, req.description or "")
    return envelope.ok(projects.view(project, "owner")), 201


def get_project(project_id: str) -> dict[str, Any]:
    return envelope.ok(projects.view(*projects.get(current_member(), project_id)))


def update_project(project_id: str, body: dict[str, Any]) -> dict[str, Any]:
    changes = ProjectUpdate.model_validate(body).model_dump(exclude_unset=True)
    return envelope.ok(projects.view(*projects.update(current_member(), project_id, changes)))


def archive_project(project_id: str) -> dict[str, Any]:
    return envelope.ok(projects.view(*projects.archive(current_member(), project_id)))
