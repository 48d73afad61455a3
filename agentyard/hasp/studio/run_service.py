"""Runs of a workflow as members start and list them, and the one rule every trigger follows.

- `start_triggered(workflow, input, trigger)`: what triggers call (schedule, record change,
  inbound webhook, `call_workflow`, replay): a run of the workflow's PUBLISHED version when its
  project has published one that has it, else of the draft (a project that never published
  runs its drafts, as before releases existed).
- `start(member, workflow_id, input)` (`POST /workflows/{id}/runs`, palette `workflow.run`): a
  run of the published version; 409 `NOT_PUBLISHED` when there is none.
- `test(member, workflow_id, input)` (`POST /workflows/{id}/test`): a sandbox run of the draft
  (no outbound effects: `steps` records them as `would_have_sent`).
- `list_page(...)`: the workflow's runs, newest first, with status and timing.

A run's id (`wfr_<ulid>`) is also its trace id.
"""

from __future__ import annotations

from typing import Any

from agentyard import flows
from agentyard.core import paging
from agentyard.core.errors import ApiError, not_found
from agentyard.core.store import write
from agentyard.hasp import cursors
from agentyard.hasp.studio import (
    audit,
    contract_versions,
    errors,
    palette,
    palette_sources,  # noqa: F401  (declares the commands this module provides)
    projects,
    roles,
    trace_document,
)
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.models import Project
from agentyard.hasp.studio.workflow_models import StudioRun, StudioWorkflow
from agentyard.hasp.studio.workflow_runs import start_run

MAX_WAIT_SECONDS = 30


def start_triggered(
    workflow: StudioWorkflow, input: Any, trigger: dict[str, Any], **kw: Any
) -> flows.Run:
    """Start a run of the published version of `workflow` (the draft when its project has
    published none, or a published release without it); `kw` as `workflow_runs.start_run`."""
    version = contract_versions.published_workflow(workflow.id)
    return start_run(workflow, input, trigger, version=version, **kw)


def find_workflow(member: Member, workflow_id: str, least: str) -> tuple[StudioWorkflow, Project]:
    """The org's workflow and its project once the member holds `least` there (404 else)."""
    wf = StudioWorkflow.get_or_none(
        (StudioWorkflow.id == workflow_id) & (StudioWorkflow.tenant == member.org_id)
    )
    if wf is None:
        raise not_found("workflow", workflow_id)
    project = Project.get_by_id(wf.project_id)
    roles.require_in(member, least, project, "workflow", workflow_id)
    return wf, project


def view(row: StudioRun, run: flows.Run) -> dict[str, Any]:
    """A run as the runs lists show it: status and timing from the engine's run, the error's
    code; no content (its output and error message are in its redacted trace)."""
    return {
        **trace_document.header(row, run),
        "trace_id": row.run_id,
        "error_code": run.error.get("code") if isinstance(run.error, dict) else None,
    }


def view_of(run_id: str) -> dict[str, Any]:
    """The run `run_id` as the runs API shows it (the run must exist)."""
    return view(StudioRun.get_by_id(run_id), flows.get_run(run_id))


def _started(member: Member, wf: StudioWorkflow, run: flows.Run, action: str) -> dict[str, Any]:
    row = StudioRun.get_by_id(run.id)
    with write():
        audit.record(
            member, action, "workflow", wf.id, project_id=wf.project_id,
            after={"run_id": run.id, "release_id": row.release_id, "sandbox": bool(row.sandbox)},
        )  # fmt: skip
    return view(row, flows.get_run(run.id))


def start(member: Member, workflow_id: str, input: Any) -> dict[str, Any]:
    """A manual run of the published version (project builder; not archived); 409
    `NOT_PUBLISHED` when the project has published no release with this workflow."""
    wf, project = find_workflow(member, workflow_id, "builder")
    projects.writable(project, authoring=False)
    version = contract_versions.published_workflow(wf.id)
    if version is None:
        raise ApiError(
            409,
            "NOT_PUBLISHED",
            f"The workflow {wf.id} has no published version: publish a release of its project "
            "first (or test the draft with POST …/test)",
            details={"workflow_id": wf.id, "project_id": wf.project_id},
        )
    trigger = {"type": "manual", "user_id": member.user_id}
    run = start_run(wf, input, trigger, version=version)
    return _started(member, wf, run, "workflow.run.started")


def test(member: Member, workflow_id: str, input: Any) -> dict[str, Any]:
    """A sandbox run of the draft (project builder; not archived)."""
    wf, project = find_workflow(member, workflow_id, "builder")
    projects.writable(project, authoring=False)
    trigger = {"type": "test", "user_id": member.user_id}
    run = start_run(wf, input, trigger, sandbox=True)
    return _started(member, wf, run, "workflow.test.started")


def list_page(
    member: Member, workflow_id: str, status: str | None, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None, bool]:
    """The workflow's runs (test runs included), newest first (project viewer)."""
    wf, _ = find_workflow(member, workflow_id, "viewer")
    query = (
        StudioRun.select(StudioRun, flows.Run)
        .join(flows.Run, on=(StudioRun.run_id == flows.Run.id), attr="flow")
        .where(StudioRun.workflow == wf)
    )
    if status:
        query = query.where(flows.Run.status == status)
    rows, after, more = paging.newest_first(
        query, StudioRun.created_at, StudioRun.run_id, cursors.rows_to_core(cursor), limit
    )
    return [view(r, r.flow) for r in rows], cursors.rows_from_core(after), more


def is_final(run_id: str) -> bool:
    return flows.get_run(run_id).status in flows.models.FINAL_STATUSES


def _palette_run(member: Member, args: dict[str, Any]) -> dict[str, Any]:
    """The palette's `workflow.run`: the same rules as `POST /workflows/{id}/runs`."""
    workflow_id, input = args.get("workflow_id"), args.get("input")
    if not isinstance(workflow_id, str) or not workflow_id:
        raise errors.invalid("args.workflow_id is required (a workflow id)", "args.workflow_id")
    if input is not None and not isinstance(input, dict):
        raise errors.invalid("args.input must be an object", "args.input")
    return start(member, workflow_id, input or {})


palette.provide("workflow.run", _palette_run)
