"""/org-config: the org's secrets, stored encrypted and shown masked."""

from __future__ import annotations

from typing import Any

from agentyard.hyphen import org_config
from handlers.hyphen.security import caller


def _view(entry: org_config.Entry) -> dict[str, Any]:
    return {
        "key": entry.key,
        "kind": entry.kind,
        "ref": entry.ref,
        "masked_value": entry.masked_value,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
    }


def setOrgConfig(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Set org config."""
    entry, created = org_config.put(
        caller().org_id, body.get("kind", "api"), body["key"], body["value"]
    )
    return _view(entry), 201 if created else 200


def getOrgConfig() -> dict[str, Any]:
    """Get org config."""
    return {"config": [_view(e) for e in org_config.entries(caller().org_id)]}
