"""Handlers for specs/hasp-studio.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def discover_apps(org_id: str, cursor: str | None = None, limit: int | None = None) -> dict:
    """Apps gallery / discovery."""
    raise not_implemented("discover_apps")


def discover_workflows(org_id: str, cursor: str | None = None, limit: int | None = None) -> dict:
    """Workflows gallery (agent-callable ones flagged)."""
    raise not_implemented("discover_workflows")


def discover_agentic_patterns(
    org_id: str,
    cursor: str | None = None,
    limit: int | None = None,
) -> dict:
    """Agentic patterns index."""
    raise not_implemented("discover_agentic_patterns")
