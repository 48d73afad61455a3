"""/v1/org/settings: PHI mode and Opus opt-in (agentyard extension)."""

from __future__ import annotations

from typing import Any

from agentyard.hasp import envelope, events, orgs
from generated.hasp_ai.models import OrgSettingsUpdate
from handlers.hasp_ai.security import require


def getOrgSettings() -> dict[str, Any]:
    return envelope.ok(orgs.view(orgs.settings_of(require("control:read").org)))


def updateOrgSettings(body: dict[str, Any]) -> dict[str, Any]:
    changes = OrgSettingsUpdate.model_validate(body).model_dump(exclude_unset=True)
    who = require("control:admin")
    row = orgs.update(who.org, changes)
    events.emit(who, "settings.updated", "org_settings", who.org.id, changes)
    return envelope.ok(orgs.view(row))
