"""Handlers for specs/hyphen.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def listActions(limit: int | None = None, offset: int | None = None) -> dict:
    """List actions."""
    raise not_implemented("listActions")


def createAction(body: dict) -> dict:
    """Create action."""
    raise not_implemented("createAction")


def getAction(id_: str) -> dict:
    """Get action."""
    raise not_implemented("getAction")


def updateAction(id_: str, body: dict) -> dict:
    """Update action."""
    raise not_implemented("updateAction")
