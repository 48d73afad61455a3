"""A run's trace document, built from the engine's records of the run (unredacted: it is
redacted by `trace_redaction` before anyone sees it).

    {id, run_id, workflow_id, project_id, release_id, sandbox, status, trigger, replay_of,
     created_at, finished_at, duration_ms, definition (the compiled version it ran), input,
     output, error,
     steps: [{path, type, status, attempt, started_at, finished_at, duration_ms, input, output,
              error}],
     ai_calls: [{path, model, usage, phi, request_id}],
     decisions: [{path, kind, decision, decided_by, approved, comment, decided_at}],
     would_have_sent: [{path, at, ...what a sandbox step did not send}],
     events: [{seq, at, kind, path, data}]}

`CONTENT` names the keys whose values may carry PHI (what runs read and wrote); everything else
is the run's own metadata (ids, statuses, times), never PHI.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from agentyard import flows
from agentyard.core import clock
from agentyard.hasp.studio.workflow_models import StudioRun

# Keys whose values are what the run processed (scanned for PHI), at any depth of the document.
CONTENT = frozenset(
    {"definition", "input", "output", "error", "data", "decision", "comment", "values"}
)


def _ms(start: dt.datetime | None, end: dt.datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return int((end - start).total_seconds() * 1000)


def _step(rec: flows.StepRecord) -> dict[str, Any]:
    return {
        "path": rec.path,
        "type": rec.type,
        "status": rec.status,
        "attempt": rec.attempt,
        "started_at": clock.iso(rec.started_at),
        "finished_at": clock.iso(rec.finished_at),
        "duration_ms": _ms(rec.started_at, rec.finished_at),
        "input": rec.input,
        "output": rec.output,
        "error": rec.error,
    }


def _ai_call(rec: flows.StepRecord) -> dict[str, Any] | None:
    out = rec.output if isinstance(rec.output, dict) else None
    if rec.type != "ai_chat" or out is None:
        return None
    return {
        "path": rec.path,
        "model": out.get("model"),
        "usage": out.get("usage"),
        "phi": out.get("phi"),
        "request_id": out.get("request_id"),
    }


def _decision(event: flows.TraceEvent) -> dict[str, Any] | None:
    """A human decision the run was resumed with (an approval step's)."""
    data = event.data if isinstance(event.data, dict) else {}
    if event.kind != "resumed" or data.get("kind") != "approval":
        return None
    raw = data.get("decision")
    d = raw if isinstance(raw, dict) else {"approved": bool(raw)}
    return {
        "path": event.path, "kind": "approval", "decision": d,
        "decided_by": d.get("decided_by"), "approved": bool(d.get("approved")),
        "comment": d.get("comment"), "decided_at": clock.iso(event.at),
    }  # fmt: skip


def header(row: StudioRun, run: flows.Run) -> dict[str, Any]:
    """What a run's list entry and its trace both show: ids, version, status, trigger, timing."""
    trigger = dict(row.trigger or {})
    return {
        "id": row.run_id,
        "workflow_id": row.workflow_id,
        "project_id": row.project_id,
        "release_id": row.release_id,
        "sandbox": bool(row.sandbox),
        "status": run.status,
        "trigger": trigger,
        "replay_of": trigger.get("trace_id") if trigger.get("type") == "replay" else None,
        "created_at": clock.iso(row.created_at),
        "finished_at": clock.iso(run.finished_at),
        "duration_ms": _ms(run.created_at, run.finished_at),
    }


def build(row: StudioRun, run: flows.Run) -> dict[str, Any]:
    """The trace document of a run (its StudioRun index row and its engine run)."""
    records = flows.step_records(run.id)
    events = flows.trace(run.id)
    return {
        **header(row, run),
        "run_id": row.run_id,
        "definition": run.definition,
        "input": (run.initial or {}).get("input"),
        "output": run.output,
        "error": run.error,
        "steps": [_step(r) for r in records],
        "ai_calls": [c for c in (_ai_call(r) for r in records) if c is not None],
        "decisions": [d for d in (_decision(e) for e in events) if d is not None],
        "would_have_sent": [
            {"path": e.path, "at": clock.iso(e.at), "data": e.data}
            for e in events
            if e.kind == "would_have_sent"
        ],
        "events": [
            {"seq": e.id, "at": clock.iso(e.at), "kind": e.kind, "path": e.path, "data": e.data}
            for e in events
        ],
    }


def state_key(run: flows.Run) -> str:
    """What a stored trace was built from: it is stale once the run moved on."""
    last = (
        flows.TraceEvent.select(flows.TraceEvent.id)
        .where(flows.TraceEvent.run == run.id)
        .order_by(flows.TraceEvent.id.desc())
        .first()
    )
    return f"{run.status}:{run.version}:{last.id if last else 0}"
