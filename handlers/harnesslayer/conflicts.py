"""/v1/conflict: the conflicts recorded by version syncs."""

from __future__ import annotations

from typing import Any

from agentyard.harnesslayer import sync
from handlers.harnesslayer.security import caller


def listConflicts(app_id: str, page: int = 1, page_size: int = 10) -> dict[str, Any]:
    return {"data": sync.list_conflicts(caller(), app_id, page, page_size)}


def getConflict(conflict_id: str) -> dict[str, Any]:
    return {"data": sync.conflict_view(sync.find_conflict(caller(), conflict_id))}
