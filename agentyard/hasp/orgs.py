"""Organization settings: PHI mode, Opus opt-in, allotment and spend cap; the model catalogue.

`phi_mode` is THE org PHI policy: the AI gateway enforces it on every call and HASP Studio's
`/orgs/{org_id}/settings/phi-policy` reads and writes it here. The model catalogue belongs to
the AI gateway, which registers it (`register_models`) so other surfaces (Studio's project
policies) can name models without importing the gateway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentyard.core import clock, runtime
from agentyard.core.keys import Tenant
from agentyard.core.store import Prepared, write
from agentyard.hasp.models import OrgSettings

PHI_MODES = ("redact", "block", "allow")
# Loosest first: a policy may only move right of the org's.
PHI_STRICTNESS = ("allow", "redact", "block")

_models: Callable[[bool], list[str]] | None = None


def register_models(source: Callable[[bool], list[str]]) -> None:
    """The gateway's catalogue: `source(opus_enabled)` → the model ids an org may use."""
    global _models
    _models = source


def models_of(org: Tenant) -> list[str]:
    """The model ids `org` may use (empty until the gateway registered its catalogue)."""
    return _models(settings_of(org).opus_enabled) if _models else []


def stricter(a: str, b: str) -> str:
    """The stricter of two PHI modes."""
    return max(a, b, key=PHI_STRICTNESS.index)


# read on every gateway call and model listing: SQL compiled once
_SETTINGS: Prepared[OrgSettings] = Prepared(
    lambda tenant_id: OrgSettings.select().where(OrgSettings.tenant == tenant_id).limit(1)
)


def settings_of(org: Tenant) -> OrgSettings:
    """The org's settings row, created with the defaults on first use."""
    found = _SETTINGS(org.id)
    if found:
        return found[0]
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
