"""Handlers for specs/hasp-studio.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def list_project_webhooks(
    project_id: str,
    cursor: str | None = None,
    limit: int | None = None,
) -> dict:
    """List the project's webhooks."""
    raise not_implemented("list_project_webhooks")


def create_project_webhook(project_id: str, body: dict) -> dict:
    """Create a webhook in the project."""
    raise not_implemented("create_project_webhook")
