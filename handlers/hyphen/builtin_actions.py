"""Handlers for specs/hyphen.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def listBuiltinActions() -> dict:
    """Built-in actions."""
    raise not_implemented("listBuiltinActions")
