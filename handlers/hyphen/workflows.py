"""Workflows: create / list / get / update / delete, and execute."""

from __future__ import annotations

from agentyard.hyphen import auth, workflows
from handlers.hyphen.security import caller


def _spec(body: dict) -> workflows.WorkflowSpec:
    return workflows.WorkflowSpec(
        name=body["name"],
        definition=body["definition"],
        input_schema_id=body.get("input_schema"),
        description=body.get("description"),
    )


def createWorkflow(body: dict) -> tuple[dict, int]:
    """Create workflow."""
    row = workflows.create(caller().org_id, _spec(body))
    return workflows.to_wire(row), 201


def listWorkflows(limit: int | None = None, offset: int | None = None) -> dict:
    """List workflows."""
    org = caller().org_id
    rows, total = workflows.page(org, limit=limit or 100, offset=offset or 0)
    return {"workflows": [workflows.to_wire(r) for r in rows], "total": total}


def getWorkflow(id_: str) -> dict:
    """Get workflow."""
    return workflows.to_wire(workflows.get(caller().org_id, id_))


def updateWorkflow(id_: str, body: dict) -> dict:
    """Update workflow."""
    return workflows.to_wire(workflows.update(caller().org_id, id_, _spec(body)))


def deleteWorkflow(id_: str) -> dict:
    """Delete workflow."""
    workflows.delete(caller().org_id, id_)
    return {"id": id_, "deleted": True}


def executeWorkflow(id_: str, body: dict) -> tuple[dict, int]:
    """Execute workflow."""
    who = caller()
    run = workflows.execute(who.org_id, id_, body.get("input"))
    auth.count_run(who)
    return {"run_id": run.id, "workflow_id": id_, "status": run.status}, 202
