"""Run status."""

from __future__ import annotations

from agentyard.hyphen import workflows
from handlers.hyphen.security import caller


def getRunStatus(run_id: str) -> dict:
    """Run status."""
    return workflows.status(caller().org_id, run_id)
