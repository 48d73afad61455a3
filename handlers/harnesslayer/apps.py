"""/v1/app: create, get, list, update, delete (display id or slug)."""

from __future__ import annotations

from typing import Any

from agentyard.harnesslayer import apps
from generated.harnesslayer.models import AppCreate, AppUpdate
from handlers.harnesslayer.security import caller


def createApp(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = AppCreate.model_validate(body)
    app, created = apps.create(caller(), req.model_dump(mode="json", exclude_unset=True))
    return {"data": apps.view(app)}, 201 if created else 200


def listApps(app_id: str | None = None, page: int = 1, page_size: int = 10) -> dict[str, Any]:
    return {"data": apps.list_page(caller(), app_id, page, page_size)}


def getApp(app_id: str) -> dict[str, Any]:
    return {"data": apps.view(apps.find(caller(), app_id))}


def updateApp(app_id: str, body: dict[str, Any]) -> dict[str, Any]:
    changes = AppUpdate.model_validate(body).model_dump(exclude_unset=True)
    return {"data": apps.view(apps.update(caller(), app_id, changes))}


def deleteApp(app_id: str) -> tuple[dict[str, Any], int]:
    app = apps.delete(caller(), app_id)
    return {"data": {"id": app.id, "status": "deleting"}}, 202
