"""Registered actions."""

from __future__ import annotations

from agentyard.hyphen import actions
from handlers.hyphen.security import caller


def _spec(body: dict) -> actions.ActionSpec:
    return actions.spec_from_wire(body)


def createAction(body: dict) -> tuple[dict, int]:
    """Create action."""
    return actions.to_wire(actions.create(caller().org_id, _spec(body))), 201


def listActions(limit: int | None = None, offset: int | None = None) -> dict:
    """List actions."""
    org = caller().org_id
    rows, total = actions.page(org, limit=limit or 100, offset=offset or 0)
    return {"actions": [actions.to_wire(a) for a in rows], "total": total}


def getAction(id_: str) -> dict:
    """Get action."""
    return actions.to_wire(actions.get(caller().org_id, id_))


def updateAction(id_: str, body: dict) -> dict:
    """Update action."""
    return actions.to_wire(actions.update(caller().org_id, id_, _spec(body)))
