"""/v1/sync: the jobs started by version syncs."""

from __future__ import annotations

from typing import Any

from agentyard.harnesslayer import sync
from handlers.harnesslayer.security import caller


def listSyncs(app_id: str, page: int = 1, page_size: int = 10) -> dict[str, Any]:
    return {"data": sync.list_page(caller(), app_id, page, page_size)}


def getSync(sync_id: str) -> dict[str, Any]:
    return {"data": sync.view(sync.find(caller(), sync_id))}
