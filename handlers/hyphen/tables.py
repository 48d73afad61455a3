"""Handlers for specs/hyphen.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def createCustomTable(body: dict) -> dict:
    """Create custom table."""
    raise not_implemented("createCustomTable")


def getCustomTable(name: str) -> dict:
    """Get custom table."""
    raise not_implemented("getCustomTable")


def deleteCustomTable(name: str) -> dict:
    """Delete custom table."""
    raise not_implemented("deleteCustomTable")


def insertCustomTableRow(name: str, body: dict) -> dict:
    """Insert."""
    raise not_implemented("insertCustomTableRow")


def bulkInsertCustomTableRows(name: str, body: dict) -> dict:
    """Bulk insert."""
    raise not_implemented("bulkInsertCustomTableRows")


def updateCustomTableRows(name: str, body: dict) -> dict:
    """Update rows."""
    raise not_implemented("updateCustomTableRows")


def listCustomTableRows(
    name: str,
    limit: int | None = None,
    offset: int | None = None,
    filter_: str | None = None,
    order_by: str | None = None,
    order: str | None = None,
) -> dict:
    """List rows."""
    raise not_implemented("listCustomTableRows")


def createCustomTableRow(name: str, body: dict) -> dict:
    """Insert a row."""
    raise not_implemented("createCustomTableRow")


def updateCustomTableRow(name: str, row_id: int, body: dict) -> dict:
    """Update a row."""
    raise not_implemented("updateCustomTableRow")


def getCustomTableAudit(name: str, limit: int | None = None, offset: int | None = None) -> dict:
    """Table audit."""
    raise not_implemented("getCustomTableAudit")
