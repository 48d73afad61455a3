"""Handlers for specs/hyphen.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def generateDag(body: dict) -> dict:
    """Generate DAG."""
    raise not_implemented("generateDag")
