"""/webhooks: the org's webhook registrations."""

from __future__ import annotations

from typing import Any

from agentyard.hyphen import webhooks
from handlers.hyphen.security import caller


def createWebhook(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Register webhook."""
    row, secret = webhooks.create(
        caller().org_id,
        body["event"],
        body["url"],
        secret=body.get("secret"),
        filter=body.get("filter"),
        auto_payload=body.get("auto_payload", True),
        active=body.get("active", True),
    )
    return {**webhooks.view(row), "secret": secret}, 201


def listWebhooks(limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """List webhooks."""
    rows, total = webhooks.page(caller().org_id, limit, offset)
    return {"webhooks": [webhooks.view(r) for r in rows], "total": total}


def getWebhook(id_: str) -> dict[str, Any]:
    """Get webhook."""
    org_id = caller().org_id
    row = webhooks.find(org_id, id_)
    return {**webhooks.view(row), "deliveries": webhooks.recent_deliveries(org_id, row.id)}


def updateWebhook(id_: str, body: dict[str, Any]) -> dict[str, Any]:
    """Update webhook."""
    return webhooks.view(webhooks.update(caller().org_id, id_, body))


def deleteWebhook(id_: str) -> dict[str, Any]:
    """Delete webhook."""
    webhooks.delete(caller().org_id, id_)
    return {"id": id_, "deleted": True}
