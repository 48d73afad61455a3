"""Handlers for specs/hyphen.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def getOrgConfig() -> dict:
    """Get org config."""
    raise not_implemented("getOrgConfig")


def setOrgConfig(body: dict) -> dict:
    """Set org config."""
    raise not_implemented("setOrgConfig")
