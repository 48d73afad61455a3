"""/api/internal/projects/{project_id}/workflows: list and create (validated on save)."""

from __future__ import annotations

from typing import Any

from agentyard.hasp import envelope
from agentyard.hasp.studio import workflows
from generated.hasp_studio.models import WorkflowCreate
from handlers.hasp_studio.security import current_member


def list_project_workflows(
    project_id: str, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    rows, next_cursor, more = workflows.list_page(current_member(), project_id, cursor, limit)
    return envelope.page([workflows.view(w) for w in rows], next_cursor, more)


def create_project_workflow(project_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = WorkflowCreate.model_validate(body)
    wf = workflows.create(
        current_member(), project_id, req.name, req.slug, req.description or "",
        body["definition"], req.agent_callable,
    )  # fmt: skip
    return envelope.ok(workflows.view(wf)), 201
