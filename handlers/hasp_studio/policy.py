"""/api/internal/projects/{project_id}/policy: the project's PHI mode, models, retention."""

from __future__ import annotations

from typing import Any

from agentyard.hasp import envelope
from agentyard.hasp.studio import policy
from generated.hasp_studio.models import ProjectPolicyUpdate
from handlers.hasp_studio.security import current_member


def get_project_policy(project_id: str) -> dict[str, Any]:
    return envelope.ok(policy.get(current_member(), project_id))


def update_project_policy(project_id: str, body: dict[str, Any]) -> dict[str, Any]:
    changes = ProjectPolicyUpdate.model_validate(body).model_dump(exclude_unset=True)
    return envelope.ok(policy.update(current_member(), project_id, changes))
