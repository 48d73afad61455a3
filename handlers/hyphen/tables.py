"""/custom-tables: typed tables of the org, their rows and audit."""

from __future__ import annotations

from typing import Any

from agentyard.hyphen import auth, tables
from handlers.hyphen.security import caller


def createCustomTable(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Create custom table."""
    who = caller()
    return tables.create_table(who.org_id, body["name"], body["fields"], auth.actor(who)), 201


def getCustomTable(name: str) -> dict[str, Any]:
    """Get custom table."""
    return tables.table_view(caller().org_id, name)


def deleteCustomTable(name: str) -> dict[str, Any]:
    """Delete custom table."""
    tables.delete_table(caller().org_id, name)
    return {"name": name, "deleted": True}


def insertCustomTableRow(name: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Insert."""
    who = caller()
    return tables.insert_row(who.org_id, name, body, auth.actor(who)), 201


def bulkInsertCustomTableRows(name: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Bulk insert."""
    who = caller()
    rows = tables.insert_rows(who.org_id, name, body["rows"], auth.actor(who), bulk=True)
    return {"inserted": len(rows), "rows": rows}, 201


def updateCustomTableRows(name: str, body: dict[str, Any]) -> dict[str, Any]:
    """Update rows."""
    who = caller()
    count = tables.update_rows(who.org_id, name, body["where"], body["values"], auth.actor(who))
    return {"updated": count}


def listCustomTableRows(
    name: str,
    limit: int = 100,
    offset: int = 0,
    filter_: str | None = None,
    order_by: str | None = None,
    order: str = "asc",
) -> dict[str, Any]:
    """List rows."""
    rows, total = tables.list_rows(
        caller().org_id,
        name,
        tables.parse_filter(filter_),
        order_by=order_by,
        descending=order == "desc",
        limit=limit,
        offset=offset,
    )
    return {"rows": rows, "total": total, "limit": limit, "offset": offset}


def createCustomTableRow(name: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Insert a row."""
    who = caller()
    return tables.insert_row(who.org_id, name, body["data"], auth.actor(who)), 201


def updateCustomTableRow(name: str, row_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Update a row."""
    who = caller()
    return tables.patch_row(who.org_id, name, row_id, body["data"], auth.actor(who))


def getCustomTableAudit(name: str, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Table audit."""
    entries, total = tables.audit(caller().org_id, name, limit, offset)
    return {"entries": entries, "total": total, "limit": limit, "offset": offset}
