"""Handlers for specs/hyphen.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def listPendingApprovals() -> dict:
    """Pending approvals."""
    raise not_implemented("listPendingApprovals")


def getRunApprovals(run_id: str) -> dict:
    """Approvals of a run."""
    raise not_implemented("getRunApprovals")


def decideApproval(run_id: str, step_id: str, body: dict) -> dict:
    """Decide approval."""
    raise not_implemented("decideApproval")
