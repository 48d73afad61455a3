"""Approvals and forms: what paused runs wait for, and the humans' decisions.

A pending approval or form is a paused run (no extra rows): `GET /approvals` and
`GET /forms/pending` list the org's runs paused on a `PbotApproval` / `PbotForm`.
A decision names the step by its path (`"2"`, or `"1/items/0/0"` inside a loop) or, for a
top-level step, by its index; deciding a step the run is not paused at (decided already,
expired, cancelled) is a 409.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from agentyard import flows
from agentyard.core import clock, jobs
from agentyard.core.errors import conflict, invalid
from agentyard.core.store import write
from agentyard.flows.models import STEP_SKIPPED, Run
from agentyard.hyphen import engine
from agentyard.hyphen.workflow_models import WORKFLOW, RunIndex
from agentyard.hyphen.workflows import find_run, pending_of

APPROVAL, FORM = "approval", "form"


def _pending_runs(
    org_id: str, kind: str, limit: int, offset: int, workflows: Collection[str] | None = None
) -> list[tuple[Run, RunIndex]]:
    where = (
        (Run.tenant == org_id)
        & (RunIndex.org == org_id)
        & (RunIndex.kind == WORKFLOW)
        & (Run.status == "paused")
        & (Run.pause_kind == kind)
    )
    if workflows is not None:  # only these workflows, named by id or by name
        names = list(workflows)
        where &= RunIndex.workflow_id.in_(names) | RunIndex.workflow_name.in_(names)
    query = (
        Run.select(Run, RunIndex)
        .join(RunIndex, on=(RunIndex.run_id == Run.id))
        .where(where)
        .order_by(Run.updated_at, Run.id)
        .limit(limit)
        .offset(offset)
    )
    return [(run, run.runindex) for run in query]  # type: ignore[attr-defined]


def _pending_wire(run: Run, index: RunIndex) -> dict[str, Any]:
    pending = pending_of(run) or {}
    pending.pop("type", None)
    top = str(run.pause_path or "").split("/", 1)[0]
    return {
        "run_id": run.id,
        "step_id": run.pause_path,
        "workflow_id": index.workflow_id,
        "workflow_name": index.workflow_name,
        **pending,
        **({"step_index": int(top)} if top.isdigit() else {}),
        "status": "pending",
        "created_at": clock.iso(run.updated_at),
    }


def pending_approvals(
    org_id: str, *, limit: int = 100, offset: int = 0, workflows: Collection[str] | None = None
) -> list[dict[str, Any]]:
    """The org's pending approvals, oldest first (of `workflows` only, by id or name, when
    given)."""
    rows = _pending_runs(org_id, APPROVAL, limit, offset, workflows)
    return [_pending_wire(r, i) for r, i in rows]


def pending_forms(org_id: str, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """The org's pending forms, oldest first."""
    return [_pending_wire(r, i) for r, i in _pending_runs(org_id, FORM, limit, offset)]


def run_approvals(org_id: str, run_id: str) -> dict[str, Any]:
    """A run's approvals: the pending one and those decided."""
    run = find_run(org_id, run_id)
    index = RunIndex.get_by_id(run_id)
    items: list[dict[str, Any]] = []
    for record in flows.step_records(run_id):
        # a step its filter skipped never asked for an approval
        if record.type != "PbotApproval" or record.status == STEP_SKIPPED:
            continue
        payload = record.input if isinstance(record.input, dict) else {}
        decision = (record.decisions or {}).get("0")
        top = record.path.split("/", 1)[0]
        item: dict[str, Any] = {
            "run_id": run_id,
            "step_id": record.path,
            **({"step_index": int(top)} if top.isdigit() else {}),
            "workflow_id": index.workflow_id,
            "comment": payload.get("comment"),
            "request_payload": payload.get("request_payload") or {},
            "status": "pending",
            "created_at": clock.iso(record.started_at),
        }
        if isinstance(decision, dict):
            item.update(
                status="approved" if decision.get("approved") else "rejected",
                decision_comment=decision.get("comment"),
                decided_at=decision.get("decided_at"),
                data=decision.get("data") or {},
            )
        items.append(item)
    return {"run_id": run_id, "status": run.status, "approvals": items}


def _path(run: Run, step_id: str, kind: str) -> str:
    if run.status != "paused" or run.pause_kind != kind or run.pause_path is None:
        raise conflict(
            f"the run {run.id} is not waiting for a{'n' if kind == APPROVAL else ''} {kind} "
            f"(it is {run.status})"
        )
    path = run.pause_path
    top = path.split("/", 1)[0]
    if step_id in (path, top) or step_id.replace(".", "/") == path:
        return path
    raise conflict(
        f"the run {run.id} is not waiting for a {kind} at step {step_id}; it waits at {path}"
    )


def decide(
    org_id: str,
    run_id: str,
    step_id: str,
    approved: bool,
    comment: str | None,
    data: dict[str, Any] | None,
    actor: str,
) -> dict[str, Any]:
    """Record an approval decision and enqueue the run's continuation."""
    run = find_run(org_id, run_id)
    path = _path(run, step_id, APPROVAL)
    decision = {
        "approved": approved,
        "comment": comment,
        "data": data or {},
        "decided_by": actor,
        "decided_at": clock.iso(clock.now()),
    }
    try:
        flows.resume(run_id, path, decision)
    except flows.NotPausedError as exc:
        raise conflict(str(exc)) from None
    return {
        "run_id": run_id,
        "step_id": path,
        **decision,
        "status": "approved" if approved else "rejected",
        "decision_comment": comment,
        "run_status": "running",
    }


def submit_form(
    org_id: str, run_id: str, step_id: str, data: dict[str, Any], actor: str
) -> dict[str, Any]:
    """Submit a form's data (every expected key required) and enqueue the continuation."""
    run = find_run(org_id, run_id)
    path = _path(run, step_id, FORM)
    payload = run.pause_payload if isinstance(run.pause_payload, dict) else {}
    missing = [k for k in payload.get("expected_keys") or [] if k not in data]
    if missing:
        raise invalid(f"missing expected keys: {', '.join(missing)}")
    decision = {"data": data, "submitted_by": actor, "submitted_at": clock.iso(clock.now())}
    try:
        flows.resume(run_id, path, decision)
    except flows.NotPausedError as exc:
        raise conflict(str(exc)) from None
    return {
        "run_id": run_id,
        "step_id": path,
        "status": "submitted",
        "data": data,
        "expected_keys": payload.get("expected_keys") or [],
        "run_status": "running",
    }


# -- form reminders --------------------------------------------------------------------------


def send_reminders(now: dt.datetime | None = None) -> int:
    """Emit `external_form_updated` (`reason: reminder`) for every pending form whose next
    reminder interval (seconds since it was requested) has passed; returns how many."""
    now = now or clock.now()
    sent = 0
    query = (
        Run.select(Run, RunIndex)
        .join(RunIndex, on=(RunIndex.run_id == Run.id))
        .where((Run.status == "paused") & (Run.pause_kind == FORM))
    )
    for run in query:
        payload = run.pause_payload if isinstance(run.pause_payload, dict) else {}
        intervals = sorted(float(i) for i in payload.get("reminder_intervals") or [])
        if not intervals:
            continue
        index = run.runindex  # type: ignore[attr-defined]
        key = f"{run.pause_path}@{clock.iso(run.updated_at)}"
        done = int((index.reminders or {}).get(key, 0))
        elapsed = (now - run.updated_at).total_seconds()
        due = sum(1 for i in intervals if i <= elapsed)
        if due <= done:
            continue
        with write():
            moved = (
                RunIndex.update(reminders={key: due})
                .where((RunIndex.run_id == run.id) & (RunIndex.reminders == index.reminders))
                .execute()
            )
        if not moved:
            continue
        for number in range(done + 1, due + 1):
            engine.emit(
                index.org,
                "external_form_updated",
                {
                    "run_id": run.id,
                    "step_id": run.pause_path,
                    "reason": "reminder",
                    "reminder": number,
                    "expected_keys": payload.get("expected_keys"),
                    "expires_at": clock.iso(run.pause_expires_at),
                },
            )
            sent += 1
    return sent


@jobs.periodic_task(lambda when: True, name="hyphen.form_reminders")
def reminders_job() -> None:
    """Once a minute: send the form reminders that are due."""
    send_reminders()
