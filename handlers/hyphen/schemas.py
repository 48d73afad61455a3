"""Handlers for specs/hyphen.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def createSchema(body: dict) -> dict:
    """Create schema."""
    raise not_implemented("createSchema")


def getSchema(id_: str) -> dict:
    """Get schema."""
    raise not_implemented("getSchema")
