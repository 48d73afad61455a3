"""Studio workflows on the shared flows engine: the `hasp-studio` engine and `start_run`.

`start_run(workflow, input, trigger)` starts a durable run of a workflow's compiled definition
(every trigger goes through it: manual, inbound webhook, schedule, record change, a calling
workflow) and indexes it (`StudioRun`: workflow, trigger, calling run). The run's context is
`{"input", "trigger", "workflow": {id, slug, project_id}}`; step outputs join it under their
ids. The step types are registered by `steps`.

A run started by a `call_workflow` step names its caller: when it finishes, the engine's event
hook resumes the caller's paused step with `{run_id, status, output, error}` (a job that
retries until the caller has paused, so a child finishing first loses nothing).
"""

from __future__ import annotations

import logging
from typing import Any

from agentyard import flows
from agentyard.core import clock, ids, jobs, runtime
from agentyard.core.store import write
from agentyard.hasp.studio import conditions
from agentyard.hasp.studio.contract_versions import PublishedWorkflow
from agentyard.hasp.studio.workflow_models import StudioRun, StudioWorkflow

log = logging.getLogger("agentyard.hasp.studio")

NAME = "hasp-studio"
FINAL_EVENTS = frozenset(
    {"run_completed", "run_failed", "run_cancelled", "run_condition_not_met", "pause_expired"}
)
MAX_CALL_DEPTH = 5


class ParentNotPausedError(RuntimeError):
    """The calling run has not paused for its child yet: the job retries."""


def run_channel(run_id: str) -> str:
    """The pub/sub channel announcing a run's events (`{"kind": ...}`: a step done, a pause,
    the end), for whoever waits on it (test runs, A2A tasks) without polling."""
    return f"hasp-studio.run.{run_id}"


def on_event(event: flows.FlowEvent) -> None:
    """Announce the event on the run's channel; resume a calling run once a child finished."""
    try:
        runtime.broker().publish(run_channel(event.run_id), {"kind": event.kind})
    except Exception:  # waiters also look again on their own: a lost notice only delays them
        log.warning("studio: could not announce %s of run %s", event.kind, event.run_id)
    if event.kind not in FINAL_EVENTS:
        return
    row = StudioRun.get_or_none(StudioRun.run_id == event.run_id)
    if row is not None and row.parent_run_id:
        resume_parent(event.run_id)


ENGINE = flows.Engine(NAME, test=conditions.test, on_event=on_event)


def start_run(
    workflow: StudioWorkflow,
    input: Any,
    trigger: dict[str, Any],
    *,
    parent: tuple[str, str] | None = None,
    depth: int = 0,
    version: PublishedWorkflow | None = None,
    sandbox: bool = False,
    compiled: dict[str, Any] | None = None,
) -> flows.Run:
    """Start a run of `workflow` with `input`, recording what started it (`trigger`, e.g.
    `{"type": "schedule", "scheduled_for": ...}`); returns the flows run (status `running`,
    queued for a worker). `version` runs a published version (its compiled definition, the
    release recorded on the run), else the draft; `sandbox` marks a test run; `compiled` runs
    that definition instead (a replay of a run on the version it ran on)."""
    if compiled is None:
        compiled = version.compiled if version is not None else workflow.compiled
    run_id = ids.new_id("wfr")
    with write():
        StudioRun.create(
            run_id=run_id,
            tenant=workflow.tenant_id,
            project_id=workflow.project_id,
            workflow=workflow.id,
            trigger=trigger,
            parent_run_id=parent[0] if parent else None,
            parent_path=parent[1] if parent else None,
            release_id=version.release_id if version is not None else None,
            sandbox=sandbox,
            created_at=clock.now(),
        )
    context = {
        "trigger": trigger,
        "workflow": {"id": workflow.id, "slug": workflow.slug, "project_id": workflow.project_id},
        "__depth": depth,
    }
    if sandbox:
        context["__sandbox"] = True
    return flows.start(ENGINE, workflow.tenant_id, compiled, input, context=context, run_id=run_id)


def runs_of(workflow_id: str, limit: int = 50) -> list[StudioRun]:
    """The workflow's runs, newest first."""
    return list(
        StudioRun.select()
        .where(StudioRun.workflow == workflow_id)
        .order_by(StudioRun.created_at.desc(), StudioRun.run_id.desc())
        .limit(limit)
    )


@jobs.task(name="hasp_studio.resume_parent", retries=30, retry_delay=1)
def resume_parent(child_run_id: str) -> None:
    """Give a finished child run's result to the step of its caller that waits for it."""
    row = StudioRun.get_or_none(StudioRun.run_id == child_run_id)
    if row is None or not row.parent_run_id:
        return
    child = flows.get_run(child_run_id)
    result = {
        "run_id": child.id,
        "status": child.status,
        "output": child.output,
        "error": child.error,
    }
    try:
        flows.resume(row.parent_run_id, str(row.parent_path), result)
    except flows.NotPausedError as exc:
        if exc.status == "running":  # the caller has not paused yet: try again shortly
            raise ParentNotPausedError(row.parent_run_id) from exc
        log.info("studio: run %s no longer waits for %s (%s)", exc.run_id, child.id, exc.status)
