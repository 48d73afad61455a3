"""Utilities: the DAG of a workflow definition."""

from __future__ import annotations

from agentyard.hyphen import dag, workflows
from handlers.hyphen.security import caller


def generateDag(body: dict) -> dict:
    """Generate DAG (an invalid definition is the same 400 as on workflow create)."""
    workflows.compile_definition(caller().org_id, body["definition"])
    return dag.generate(body["definition"])
