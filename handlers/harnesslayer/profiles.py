"""/v1/profile: create, get (by display id, or identifier with appId), list, update, delete."""

from __future__ import annotations

from typing import Any

from agentyard.harnesslayer import profiles
from generated.harnesslayer.models import ProfileCreate, ProfileUpdate
from handlers.harnesslayer.security import caller


def createProfile(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = ProfileCreate.model_validate(body).model_dump(mode="json", exclude_unset=True)
    profile, created = profiles.create(caller(), req)
    return {"data": profiles.view(profile)}, 201 if created else 200


def listProfiles(app_id: str, page: int = 1, page_size: int = 10) -> dict[str, Any]:
    return {"data": profiles.list_page(caller(), app_id, page, page_size)}


def getProfile(profile_id: str, app_id: str | None = None) -> dict[str, Any]:
    return {"data": profiles.view(profiles.get(caller(), profile_id, app_id))}


def deleteProfile(profile_id: str) -> tuple[dict[str, Any], int]:
    profile = profiles.delete(caller(), profile_id)
    return {"data": {"id": profile.id, "status": "deleting"}}, 202


def updateProfile(profile_id: str, body: dict[str, Any]) -> dict[str, Any]:
    changes = ProfileUpdate.model_validate(body).model_dump(mode="json", exclude_unset=True)
    return {"data": profiles.view(profiles.update(caller(), profile_id, changes))}
