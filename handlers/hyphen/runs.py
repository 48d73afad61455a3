"""Handlers for specs/hyphen.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def getRunStatus(run_id: str) -> dict:
    """Run status."""
    raise not_implemented("getRunStatus")
