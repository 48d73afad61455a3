"""/api/internal/projects/{project_id}/members: list, add or invite, change role, remove."""

from __future__ import annotations

from typing import Any

from agentyard.hasp import envelope
from agentyard.hasp.studio import project_members
from generated.hasp_studio.models import MemberAdd, MemberUpdate
from handlers.hasp_studio.cookies import base_url
from handlers.hasp_studio.security import current_member


def list_members(project_id: str, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
    rows, next_cursor, more = project_members.list_page(current_member(), project_id, cursor, limit)
    return envelope.page([project_members.view(r) for r in rows], next_cursor, more)


def add_member(project_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = MemberAdd.model_validate(body).root
    row = project_members.add(
        current_member(),
        project_id,
        req.role,
        user_id=req.user_id,
        email=req.email,
        name=req.name or "",
        base_url=base_url(),
    )
    return envelope.ok(project_members.view(row)), 201


def update_member(project_id: str, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
    req = MemberUpdate.model_validate(body)
    row = project_members.update(current_member(), project_id, user_id, req.role)
    return envelope.ok(project_members.view(row))


def remove_member(project_id: str, user_id: str) -> dict[str, Any]:
    return envelope.ok(
        project_members.view(project_members.remove(current_member(), project_id, user_id))
    )
