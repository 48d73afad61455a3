"""/v1/webhook: create and update app webhooks (event `profile.created`)."""

from __future__ import annotations

from typing import Any

from agentyard.harnesslayer import webhooks
from generated.harnesslayer.models import WebhookCreate, WebhookUpdate
from handlers.harnesslayer.security import caller


def createWebhook(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = WebhookCreate.model_validate(body).model_dump(mode="json", exclude_unset=True)
    return {"data": webhooks.view(webhooks.create(caller(), req))}, 201


def updateWebhook(body: dict[str, Any]) -> dict[str, Any]:
    req = WebhookUpdate.model_validate(body).model_dump(exclude_unset=True)
    return {"data": webhooks.view(webhooks.update(caller(), req))}
