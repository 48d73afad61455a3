"""Handlers for specs/hasp-studio.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def list_project_apps(project_id: str, cursor: str | None = None, limit: int | None = None) -> dict:
    """List the project's apps."""
    raise not_implemented("list_project_apps")


def create_project_app(project_id: str, body: dict) -> dict:
    """Create a app in the project."""
    raise not_implemented("create_project_app")
