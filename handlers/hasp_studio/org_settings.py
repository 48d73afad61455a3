"""/api/internal/orgs/{org_id}/settings: the org PHI policy and release floor."""

from __future__ import annotations

from typing import Any

from agentyard.hasp import envelope
from agentyard.hasp.studio import policy_org
from generated.hasp_studio.models import PhiPolicyUpdate, ReleasePolicyUpdate
from handlers.hasp_studio.security import current_member


def get_phi_policy(org_id: str) -> dict[str, Any]:
    return envelope.ok(policy_org.get_phi(current_member(), org_id))


def update_phi_policy(org_id: str, body: dict[str, Any]) -> dict[str, Any]:
    changes = PhiPolicyUpdate.model_validate(body).model_dump(exclude_unset=True)
    return envelope.ok(policy_org.update_phi(current_member(), org_id, changes))


def get_release_policy(org_id: str) -> dict[str, Any]:
    return envelope.ok(policy_org.get_release(current_member(), org_id))


def update_release_policy(org_id: str, body: dict[str, Any]) -> dict[str, Any]:
    changes = ReleasePolicyUpdate.model_validate(body).model_dump(exclude_unset=True)
    return envelope.ok(policy_org.update_release(current_member(), org_id, changes))
