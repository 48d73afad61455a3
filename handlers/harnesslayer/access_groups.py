"""/v1/access_group: create, get, list, update, delete (the app's default group cannot be)."""

from __future__ import annotations

from typing import Any

from agentyard.harnesslayer import access_groups
from generated.harnesslayer.models import AccessGroupCreate, AccessGroupUpdate
from handlers.harnesslayer.security import caller


def createAccessGroup(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = AccessGroupCreate.model_validate(body).model_dump(exclude_unset=True)
    return {"data": access_groups.view(access_groups.create(caller(), req))}, 201


def listAccessGroups(app_id: str, page: int = 1, page_size: int = 10) -> dict[str, Any]:
    return {"data": access_groups.list_page(caller(), app_id, page, page_size)}


def getAccessGroup(access_group_id: str) -> dict[str, Any]:
    return {"data": access_groups.view(access_groups.find(caller(), access_group_id))}


def deleteAccessGroup(access_group_id: str) -> dict[str, Any]:
    group = access_groups.delete(caller(), access_group_id)
    return {"data": {"id": group.id, "deleted": True}}


def updateAccessGroup(access_group_id: str, body: dict[str, Any]) -> dict[str, Any]:
    changes = AccessGroupUpdate.model_validate(body).model_dump(exclude_unset=True)
    return {"data": access_groups.view(access_groups.update(caller(), access_group_id, changes))}
