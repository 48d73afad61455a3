"""Workflows (`wfl-<uuid>`) and their runs: create / read / update / delete, execute, status.

A definition is validated whole on create and update (`definitions.check`, 400 naming the
step index and path). Execute compiles it again (the org's actions may have changed), checks
the input against the workflow's input schema when it names one, and starts a durable run on
the flows engine; the run keeps its definition, so editing or deleting the workflow later
changes nothing for runs already started (their history stays readable).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import peewee

from agentyard import flows
from agentyard.core import clock, paging
from agentyard.core.errors import invalid, not_found
from agentyard.core.store import Prepared, write
from agentyard.flows.models import StepRecord
from agentyard.hyphen import actions, definitions
from agentyard.hyphen.engine import ENGINE, RUN_PREFIX
from agentyard.hyphen.workflow_models import WORKFLOW, RunIndex, Workflow

MAX_NAME = 200


@dataclass
class WorkflowSpec:
    """A workflow as a caller describes it."""

    name: str
    definition: Mapping[str, Any]
    input_schema_id: str | None = None
    description: str | None = None


def catalog(org_id: str) -> definitions.Catalog:
    """What a definition of this org may name."""
    rows = list(
        Workflow.select(Workflow.id, Workflow.name, Workflow.definition).where(
            Workflow.org == org_id
        )
    )
    return definitions.Catalog(
        actions=actions.names(org_id),
        workflows={w.id: w.definition for w in rows},
        workflow_names={w.name: w.id for w in rows},
        action_output_keys=actions.output_keys(org_id),
    )


def compile_definition(
    org_id: str, definition: Any, workflow_id: str | None = None
) -> dict[str, Any]:
    """Validate and compile a definition; raises a 400 naming the offending step."""
    try:
        return definitions.check(definition, catalog(org_id), workflow_id)
    except definitions.DefinitionError as exc:
        raise invalid(f"Invalid workflow definition at {exc.where}: {exc.message}") from None


def _check_spec(org_id: str, spec: WorkflowSpec, workflow_id: str | None) -> None:
    if not isinstance(spec.name, str) or not spec.name.strip() or len(spec.name) > MAX_NAME:
        raise invalid(f"name must be 1..{MAX_NAME} characters")
    if spec.input_schema_id is not None:
        import agentyard.hyphen.schemas as schemas

        schemas.get_schema(org_id, spec.input_schema_id)
    compile_definition(org_id, spec.definition, workflow_id)


def create(org_id: str, spec: WorkflowSpec) -> Workflow:
    """Store a new workflow after validating its whole definition."""
    workflow_id = f"wfl-{uuid.uuid4()}"
    _check_spec(org_id, spec, workflow_id)
    now = clock.now()
    with write():
        return Workflow.create(
            id=workflow_id,
            org=org_id,
            name=spec.name.strip(),
            description=spec.description or "",
            definition=dict(spec.definition),
            input_schema_id=spec.input_schema_id,
            created_at=now,
            updated_at=now,
        )


def get(org_id: str, workflow_id: str) -> Workflow:
    """The org's workflow; 404 otherwise."""
    row = Workflow.get_or_none((Workflow.id == workflow_id) & (Workflow.org == org_id))
    if row is None:
        raise not_found("workflow", workflow_id)
    return row


def by_name(org_id: str, name: str) -> Workflow | None:
    """The org's most recent workflow called `name`."""
    return (
        Workflow.select()
        .where((Workflow.org == org_id) & (Workflow.name == name))
        .order_by(Workflow.created_at.desc())
        .first()
    )


def _of(org_id: str, refs: Collection[str] | None) -> peewee.ColumnBase:
    where = Workflow.org == org_id
    if refs is None:
        return where
    return where & (Workflow.id.in_(list(refs)) | Workflow.name.in_(list(refs)))


def _listed(where: peewee.ColumnBase, limit: Any, offset: Any) -> peewee.ModelSelect[Workflow]:
    return (
        Workflow.select()
        .where(where)
        .order_by(Workflow.created_at, Workflow.id)
        .limit(limit)
        .offset(offset)
    )


# the plain listing (every list request without `refs`): SQL compiled once
_ORG_PAGE: Prepared[Workflow] = Prepared(
    lambda org_id, limit, offset: _listed(_of(org_id, None), limit, offset)
)


def list_workflows(
    org_id: str, *, limit: int = 100, offset: int = 0, refs: Collection[str] | None = None
) -> list[Workflow]:
    """The org's workflows (only those `refs` names by id or name, when given), oldest first."""
    if refs is None:
        return _ORG_PAGE(org_id, limit, offset)
    return list(_listed(_of(org_id, refs), limit, offset))


def page(
    org_id: str, *, limit: int, offset: int, refs: Collection[str] | None = None
) -> tuple[list[Workflow], int]:
    """One page of the org's workflows (of `refs`) and how many (no COUNT when the page is
    short)."""
    rows = list_workflows(org_id, limit=limit, offset=offset, refs=refs)
    return rows, paging.total_of(
        lambda: Workflow.select().where(_of(org_id, refs)), rows, limit, offset
    )


def update(org_id: str, workflow_id: str, spec: WorkflowSpec) -> Workflow:
    """Replace a workflow's name and definition (validated whole)."""
    row = get(org_id, workflow_id)
    _check_spec(org_id, spec, workflow_id)
    with write():
        row.name = spec.name.strip()
        row.description = spec.description or ""
        row.definition = dict(spec.definition)
        row.input_schema_id = spec.input_schema_id
        row.updated_at = clock.now()
        row.save()
    return row


def delete(org_id: str, workflow_id: str) -> None:
    """Delete a workflow; its runs and their history stay."""
    row = get(org_id, workflow_id)
    with write():
        row.delete_instance()


def to_wire(row: Workflow) -> dict[str, Any]:
    """The workflow as the API shows it."""
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "definition": row.definition,
        "input_schema": row.input_schema_id,
        "created_at": clock.iso(row.created_at),
        "updated_at": clock.iso(row.updated_at),
    }


def _check_input(org_id: str, row: Workflow, data: Any) -> None:
    if not row.input_schema_id:
        return
    import agentyard.hyphen.schemas as schemas

    schemas.validate(schemas.get_schema(org_id, row.input_schema_id), data)


def execute(
    org_id: str,
    workflow_id: str,
    data: Any,
    *,
    run_id: str | None = None,
    parent_run_id: str | None = None,
) -> flows.Run:
    """Start a run of the workflow with `data` as `@input`; returns the stored run."""
    row = get(org_id, workflow_id)
    if not isinstance(data, dict):
        raise invalid('the body must be {"input": {...}}: input must be an object')
    _check_input(org_id, row, data)
    compiled = compile_definition(org_id, row.definition, row.id)
    run_id = run_id or f"{RUN_PREFIX}{uuid.uuid4().hex}"
    with write():
        RunIndex.create(
            run_id=run_id,
            org=org_id,
            kind=WORKFLOW,
            workflow_id=row.id,
            workflow_name=row.name,
            parent_run_id=parent_run_id,
            created_at=clock.now(),
        )
    return flows.start(ENGINE, org_id, compiled, data, run_id=run_id)


def find_run(org_id: str, run_id: str, kind: str | None = WORKFLOW) -> flows.Run:
    """The org's run (of `kind`, when given); 404 otherwise."""
    index = RunIndex.get_or_none((RunIndex.run_id == run_id) & (RunIndex.org == org_id))
    if index is None or (kind is not None and index.kind != kind):
        raise not_found("run", run_id)
    return flows.get_run(run_id)


def _step_wire(record: StepRecord) -> dict[str, Any]:
    return {
        "step_id": record.path,
        "type": record.type,
        "status": record.status,
        "attempt": record.attempt,
        "input": record.input,
        "output": record.output,
        "error": record.error,
        "started_at": clock.iso(record.started_at),
        "finished_at": clock.iso(record.finished_at),
    }


def pending_of(run: flows.Run) -> dict[str, Any] | None:
    """What a paused run waits for: `{type: approval|form|human|escalation, step_id, ...}`."""
    if run.status not in ("paused", "waiting") or run.pause_path is None:
        return None
    payload = run.pause_payload if isinstance(run.pause_payload, dict) else {}
    return {
        "type": run.pause_kind,
        "step_id": run.pause_path,
        "expires_at": clock.iso(run.pause_expires_at),
        **payload,
    }


def status(org_id: str, run_id: str) -> dict[str, Any]:
    """A run's status, context, step outputs, pending approval/form and errors."""
    run = find_run(org_id, run_id)
    index = RunIndex.get_by_id(run_id)
    records = [r for r in flows.step_records(run_id) if r.path != "when"]
    pending = pending_of(run)
    errors = [
        {"step_id": r.path, **(r.error or {})} for r in records if r.status == "failed" and r.error
    ]
    status_value = run.status if run.status != "waiting" else "paused"
    return {
        "run_id": run.id,
        "workflow_id": index.workflow_id,
        "workflow_name": index.workflow_name,
        "status": status_value,
        "input": (run.initial or {}).get("input"),
        "context": run.context,
        "steps": [_step_wire(r) for r in records],
        "step_outputs": {r.path: r.output for r in records if r.status == "completed"},
        "pending": pending,
        "pending_approval": pending if pending and pending["type"] == "approval" else None,
        "pending_form": pending if pending and pending["type"] == "form" else None,
        "output": run.output,
        "error": run.error,
        "errors": errors,
        "created_at": clock.iso(run.created_at),
        "updated_at": clock.iso(run.updated_at),
        "completed_at": clock.iso(run.finished_at),
    }
