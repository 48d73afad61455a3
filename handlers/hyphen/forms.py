"""Handlers for specs/hyphen.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def submitForm(run_id: str, step_id: str, body: dict) -> dict:
    """Submit form."""
    raise not_implemented("submitForm")


def listPendingForms() -> dict:
    """Pending forms."""
    raise not_implemented("listPendingForms")
