"""/sdk/actions and /sdk/workflows: the tool pickers (agentyard.hyphen.sdk_pickers)."""

from __future__ import annotations

from typing import Any

from agentyard.hyphen import sdk_pickers
from handlers.hyphen.security import sdk_caller


def listSdkActions(limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """The registered actions the key allows."""
    items, total = sdk_pickers.action_page(sdk_caller(), limit, offset)
    return {"actions": items, "total": total, "limit": limit, "offset": offset}


def listSdkWorkflows(limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """The workflows the key allows."""
    items, total = sdk_pickers.workflow_page(sdk_caller(), limit, offset)
    return {"workflows": items, "total": total, "limit": limit, "offset": offset}
