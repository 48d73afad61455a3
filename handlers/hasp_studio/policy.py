"""Handlers for specs/hasp-studio.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def get_project_policy(project_id: str) -> dict:
    """Project policy."""
    raise not_implemented("get_project_policy")


def update_project_policy(project_id: str, body: dict) -> dict:
    """Update project policy."""
    raise not_implemented("update_project_policy")
