"""Organization settings: PHI mode, Opus opt-in, allotment and spend cap."""

from __future__ import annotations

from typing import Any

from agentyard.core import clock, runtime
from agentyard.core.keys import Tenant
from agentyard.core.store import write
from agentyard.hasp.models import OrgSettings

PHI_MODES = ("redact", "block", "allow")


def settings_of(org: Tenant) -> OrgSettings:
    """The org's settings row, created with the defaults on first use."""
    row = OrgSettings.get_or_none(OrgSettings.tenant == org)
    if row is not None:
        return row
    with write():
        row, _ = OrgSettings.get_or_create(
            tenant=org, defaults={"allotment": runtime.settings().hasp_credit_allotment}
        )
    return row


def view(row: OrgSettings) -> dict[str, Any]:
    return {"phi_mode": row.phi_mode, "opus_enabled": row.opus_enabled}


def update(org: Tenant, changes: dict[str, Any]) -> OrgSettings:
    """Apply `phi_mode` / `opus_enabled`."""
    row = settings_of(org)
    with write():
        if "phi_mode" in changes:
            row.phi_mode = changes["phi_mode"]
        if "opus_enabled" in changes:
            row.opus_enabled = bool(changes["opus_enabled"])
        row.updated_at = clock.now()
        row.save()
    return row
