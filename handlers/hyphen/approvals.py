"""Approvals: pending, per run, and decisions."""

from __future__ import annotations

from agentyard.hyphen import approvals
from handlers.hyphen.security import caller


def listPendingApprovals() -> dict:
    """Pending approvals."""
    return {"approvals": approvals.pending_approvals(caller().org_id)}


def getRunApprovals(run_id: str) -> dict:
    """Approvals of a run."""
    return approvals.run_approvals(caller().org_id, run_id)


def decideApproval(run_id: str, step_id: str, body: dict) -> dict:
    """Decide approval."""
    who = caller()
    comment = body.get("comment", body.get("comments"))
    return approvals.decide(
        who.org_id, run_id, step_id, body["approved"], comment, body.get("data"), who.key_id
    )
