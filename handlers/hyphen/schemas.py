"""/schemas: JSON Schemas of the org."""

from __future__ import annotations

from typing import Any

from agentyard.hyphen import schemas
from handlers.hyphen.security import caller


def createSchema(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Create schema."""
    return schemas.create(
        caller().org_id, body["schema"], body.get("name"), body.get("description")
    ), 201


def getSchema(id_: str) -> dict[str, Any]:
    """Get schema."""
    return schemas.view(caller().org_id, id_)
