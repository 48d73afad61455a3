"""Handlers for specs/hyphen.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def listWorkflows(limit: int | None = None, offset: int | None = None) -> dict:
    """List workflows."""
    raise not_implemented("listWorkflows")


def createWorkflow(body: dict) -> dict:
    """Create workflow."""
    raise not_implemented("createWorkflow")


def getWorkflow(id_: str) -> dict:
    """Get workflow."""
    raise not_implemented("getWorkflow")


def updateWorkflow(id_: str, body: dict) -> dict:
    """Update workflow."""
    raise not_implemented("updateWorkflow")


def deleteWorkflow(id_: str) -> dict:
    """Delete workflow."""
    raise not_implemented("deleteWorkflow")


def executeWorkflow(id_: str, body: dict) -> dict:
    """Execute workflow."""
    raise not_implemented("executeWorkflow")
