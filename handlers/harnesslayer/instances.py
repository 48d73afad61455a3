"""/v1/instance: list (by app), get."""

from __future__ import annotations

from typing import Any

from agentyard.harnesslayer import runs
from handlers.harnesslayer.security import caller


def listInstances(app_id: str, page: int = 1, page_size: int = 10) -> dict[str, Any]:
    return {"data": runs.list_instances(caller(), app_id, page, page_size)}


def getInstance(instance_id: str) -> dict[str, Any]:
    return {"data": runs.view(runs.find(caller(), instance_id))}
