"""Handlers for specs/hasp-studio.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def list_project_workflows(
    project_id: str,
    cursor: str | None = None,
    limit: int | None = None,
) -> dict:
    """List the project's workflows."""
    raise not_implemented("list_project_workflows")


def create_project_workflow(project_id: str, body: dict) -> dict:
    """Create a workflow in the project."""
    raise not_implemented("create_project_workflow")
