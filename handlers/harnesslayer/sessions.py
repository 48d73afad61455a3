"""/v1/session: create, list, get, delete."""

from __future__ import annotations

from typing import Any

from agentyard.harnesslayer import runs
from generated.harnesslayer.models import SessionCreate
from handlers.harnesslayer.security import caller


def createSession(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = SessionCreate.model_validate(body).model_dump(mode="json", exclude_unset=True)
    return {"data": runs.session_view(runs.create_session(caller(), req))}, 201


def listSessions(app_id: str, page: int = 1, page_size: int = 10) -> dict[str, Any]:
    return {"data": runs.list_sessions(caller(), app_id, page, page_size)}


def getSession(session_id: str) -> dict[str, Any]:
    return {"data": runs.session_view(runs.find_session(caller(), session_id))}


def deleteSession(session_id: str) -> dict[str, Any]:
    session = runs.delete_session(caller(), session_id)
    return {"data": {"id": session.id, "deleted": True}}
