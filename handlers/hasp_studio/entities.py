"""Handlers for specs/hasp-studio.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def get_entity(entity_id: str) -> dict:
    """Entity schema."""
    raise not_implemented("get_entity")


def delete_entity(entity_id: str) -> dict:
    """Delete entity."""
    raise not_implemented("delete_entity")


def update_entity(entity_id: str, body: dict) -> dict:
    """Update entity schema."""
    raise not_implemented("update_entity")
