"""Forms: pending, and submissions."""

from __future__ import annotations

from agentyard.hyphen import approvals
from handlers.hyphen.security import caller


def submitForm(run_id: str, step_id: str, body: dict) -> dict:
    """Submit form: `{"data": {...}}`, or the keys at the top level (the older form)."""
    who = caller()
    data = body["data"] if isinstance(body.get("data"), dict) else dict(body)
    return approvals.submit_form(who.org_id, run_id, step_id, data, who.key_id)


def listPendingForms() -> dict:
    """Pending forms."""
    return {"forms": approvals.pending_forms(caller().org_id)}
