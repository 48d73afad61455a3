"""Handlers for specs/hasp-studio.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def palette_query(body: dict) -> dict:
    """Palette query."""
    raise not_implemented("palette_query")


def palette_execute(body: dict) -> dict:
    """Palette execute."""
    raise not_implemented("palette_execute")
