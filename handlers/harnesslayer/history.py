"""/v1/history: rollback (and later response) records, by filter."""

from __future__ import annotations

from typing import Any

from agentyard.harnesslayer import history
from handlers.harnesslayer.security import caller


def listHistory(
    app_id: str | None = None,
    profile_id: str | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    history_id: str | None = None,
    page: int = 1,
    page_size: int = 10,
) -> dict[str, Any]:
    return {
        "data": history.list_page(
            caller(),
            app_id=app_id,
            profile_id=profile_id,
            session_id=session_id,
            user_id=user_id,
            history_id=history_id,
            page=page,
            size=page_size,
        )
    }


def getHistory(history_id: str) -> dict[str, Any]:
    return {"data": history.view(history.find(caller(), history_id))}
