"""Handlers for specs/hasp-studio.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def list_records(
    entity_id: str,
    filter_: str | None = None,
    sort: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> dict:
    """List records."""
    raise not_implemented("list_records")


def create_record(entity_id: str, body: dict) -> dict:
    """Create record."""
    raise not_implemented("create_record")


def get_record(entity_id: str, record_id: str) -> dict:
    """Get record."""
    raise not_implemented("get_record")


def delete_record(entity_id: str, record_id: str) -> dict:
    """Delete record."""
    raise not_implemented("delete_record")


def update_record(entity_id: str, record_id: str, body: dict) -> dict:
    """Update record."""
    raise not_implemented("update_record")
