"""/sdk/tables: rows of the custom tables a publishable key allows (agentyard.hyphen.sdk_tables)."""

from __future__ import annotations

from typing import Any

from agentyard.hyphen import sdk_tables
from handlers.hyphen.security import sdk_caller


def listSdkTableRows(
    name: str,
    limit: int = 100,
    offset: int = 0,
    filter_: str | None = None,
    order_by: str | None = None,
    order: str = "asc",
) -> dict[str, Any]:
    """A page of an allowed table's rows."""
    rows, total = sdk_tables.list_rows(
        sdk_caller(), name, filter_, order_by, order == "desc", limit, offset
    )
    return {"rows": rows, "total": total, "limit": limit, "offset": offset}


def createSdkTableRow(name: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Insert a row as the signed-in user."""
    return sdk_tables.insert(sdk_caller(), name, body["data"]), 201


def updateSdkTableRow(name: str, row_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Edit a row inline as the signed-in user."""
    return sdk_tables.patch(sdk_caller(), name, row_id, body["data"])
