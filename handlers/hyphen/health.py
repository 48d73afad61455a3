"""Handlers for specs/hyphen.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def getHealth() -> dict:
    """Liveness."""
    raise not_implemented("getHealth")


def getReadiness() -> dict:
    """Readiness."""
    raise not_implemented("getReadiness")
