"""A2A tasks are runs of published workflows: start, continue, read, cancel, wait.

A task is a `hasp-studio` run started with `trigger = {"type": "agent", "via", "key_id",
"context_id", "release_id"}` on the published version of the endpoint's workflow; the task id
is the run id. Tasks are scoped to the org and the endpoint: any other run id is TaskNotFound.

Message → input: the message's data parts (merged, in order), else its text parts joined by
newlines as `{"text": ...}`. The input is checked against the workflow's input schema.
Output → the artifact `output`: the run's output when it is an object, else `{"output": value}`.

States: running / waiting (a called workflow) → `working`; paused (an approval or other human
step) → `input-required`, with the step's request in the status message; completed and
condition_not_met → `completed`; failed → `failed`; cancelled → `canceled`. A message naming an
`input-required` task (`taskId`) resumes the paused step with the message's input as the
decision (an approval step reads `{"approved": bool, "comment"?: str}`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from jsonschema import validators

from agentyard import flows
from agentyard.core import aio, audit, clock, request_context, waits
from agentyard.hasp.auth import Caller
from agentyard.hasp.runtime import errors
from agentyard.hasp.runtime.a2a_wire import TaskSnapshot, TaskStatus
from agentyard.hasp.runtime.place import OrgPlace
from agentyard.hasp.studio import workflow_runs
from agentyard.hasp.studio.contract_versions import PublishedWorkflow
from agentyard.hasp.studio.workflow_models import StudioRun, StudioWorkflow

STATES = {
    "running": "working",
    "waiting": "working",
    "paused": "input-required",
    "completed": "completed",
    "condition_not_met": "completed",
    "failed": "failed",
    "cancelled": "canceled",
}
UNSETTLED = frozenset({"running", "waiting"})
MAX_INPUT_ERRORS = 5


@dataclass(frozen=True)
class Inbound:
    """An A2A message, as the workflow takes it."""

    input: dict[str, Any]
    task_id: str | None
    context_id: str | None


def _invalid(message: str) -> errors.RpcError:
    return errors.RpcError(errors.INVALID_PARAMS, message)


def inbound(message: Any) -> Inbound:
    """Read `params.message` (v0.3 or v1.0 parts); INVALID_PARAMS when it is no message."""
    if not isinstance(message, dict):
        raise _invalid("params.message must be an A2A Message object")
    parts = message.get("parts")
    if not isinstance(parts, list) or not parts:
        raise _invalid("params.message.parts must be a non-empty list")
    data: dict[str, Any] = {}
    texts: list[str] = []
    for part in parts:
        if not isinstance(part, dict):
            raise _invalid("each message part must be an object")
        kind = part.get("kind") or next((k for k in ("text", "data", "file") if k in part), None)
        if kind == "data" and isinstance(part.get("data"), dict):
            data.update(part["data"])
        elif kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind in ("file", "raw", "url") or "file" in part:
            raise errors.RpcError(
                errors.CONTENT_TYPE_NOT_SUPPORTED, "file parts are not accepted; send data or text"
            )
        else:
            raise _invalid("a part must be a text part or a data part with an object")
    ids = {}
    for key in ("taskId", "contextId"):
        value = message.get(key)
        if value is not None and not isinstance(value, str):
            raise _invalid(f"params.message.{key} must be a string")
        ids[key] = value or None
    value = data if data else {"text": "\n".join(texts)}
    return Inbound(value, ids["taskId"], ids["contextId"])


def check_input(wf: PublishedWorkflow, value: dict[str, Any]) -> None:
    """INVALID_PARAMS (with the first problems) unless `value` fits the input schema."""
    schema = wf.input_schema
    validator = validators.validator_for(schema)(schema)
    problems = [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(input)'}: {e.message}"
        for _, e in zip(range(MAX_INPUT_ERRORS), validator.iter_errors(value), strict=False)
    ]
    if problems:
        raise errors.RpcError(
            errors.INVALID_PARAMS,
            "the input does not match the workflow's input schema",
            details={"errors": problems},
        )


def start(
    op: OrgPlace, caller: Caller, wf: PublishedWorkflow, value: dict[str, Any], *,
    context_id: str | None, via: str,
) -> str:  # fmt: skip
    """Start a run of the published workflow (audited `workflow.invoked`); the run id."""
    check_input(wf, value)
    workflow = StudioWorkflow.get_or_none(
        (StudioWorkflow.id == wf.id) & (StudioWorkflow.tenant == op.org.id)
    )
    if workflow is None:  # deleted from the draft since it was published
        raise errors.RpcError(
            errors.AGENT_NOT_FOUND, "This workflow is no longer available", status=404
        )
    trigger = {
        "type": "agent",
        "via": via,
        "key_id": caller.key.id,
        "context_id": context_id or str(uuid.uuid4()),
        "release_id": wf.release_id,
    }
    run = workflow_runs.start_run(workflow, value, trigger, version=wf)
    info = request_context.current()
    audit.append(
        op.org,
        "workflow.invoked",
        "workflow",
        wf.id,
        org_id=op.org.id,
        project_id=wf.project_id,
        ip_address=info.client_ip if info else None,
        metadata={
            "api_key_id": caller.key.id,
            "method": via,
            "workflow": f"{wf.project_slug}/{wf.slug}",
            "release_id": wf.release_id,
            "release_number": wf.release_number,
            "run_id": run.id,
            "request_id": info.request_id if info else None,
        },
    )
    return run.id


def _row(op: OrgPlace, wf: PublishedWorkflow, task_id: str) -> StudioRun:
    row = StudioRun.get_or_none(
        (StudioRun.run_id == task_id)
        & (StudioRun.tenant == op.org.id)
        & (StudioRun.workflow == wf.id)
    )
    if row is None or (row.trigger or {}).get("type") != "agent":
        raise errors.RpcError(errors.TASK_NOT_FOUND, f"Task {task_id} not found")
    return row


def _status(run: flows.Run) -> TaskStatus:
    state = STATES.get(run.status, "unknown")
    at = clock.iso(run.finished_at or run.updated_at) or ""
    if run.status == "paused":
        request = {"step": run.pause_path, "kind": run.pause_kind, **(run.pause_payload or {})}
        if run.pause_kind == "approval":
            request["expects"] = {"approved": "boolean", "comment": "string (optional)"}
        title = (run.pause_payload or {}).get("title") or "The workflow waits for input"
        return TaskStatus(state, at, str(title), request)
    if run.status == "failed":
        error = run.error if isinstance(run.error, dict) else {"message": str(run.error)}
        return TaskStatus(state, at, str(error.get("message") or "the run failed"), error)
    if run.status == "condition_not_met":
        return TaskStatus(state, at, "The workflow's condition was not met; nothing ran")
    return TaskStatus(state, at)


def snapshot_of(row: StudioRun) -> TaskSnapshot:
    run = flows.get_run(row.run_id)
    output = None
    if run.status == "completed":
        output = run.output if isinstance(run.output, dict) else {"output": run.output}
    trigger = row.trigger or {}
    return TaskSnapshot(
        id=row.run_id,
        context_id=str(trigger.get("context_id") or row.run_id),
        status=_status(run),
        output=output,
        metadata={
            "run_id": row.run_id,
            "run_status": run.status,
            "release_id": row.release_id,
            "workflow_id": row.workflow_id,
        },
    )


def get(op: OrgPlace, wf: PublishedWorkflow, task_id: str) -> TaskSnapshot:
    """The task; TaskNotFound for a run id of another org, workflow or trigger."""
    return snapshot_of(_row(op, wf, task_id))


def resume(op: OrgPlace, wf: PublishedWorkflow, task_id: str, decision: dict[str, Any]) -> str:
    """Give an `input-required` task the input it waits for; the task id."""
    _row(op, wf, task_id)
    run = flows.get_run(task_id)
    if run.status != "paused" or run.pause_path is None:
        state = STATES.get(run.status, run.status)
        raise _invalid(f"Task {task_id} is {state}, not input-required: it takes no message")
    try:
        flows.resume(task_id, run.pause_path, decision)
    except flows.NotPausedError as exc:
        raise _invalid(f"Task {task_id} no longer waits for input ({exc.status})") from None
    return task_id


def cancel(op: OrgPlace, wf: PublishedWorkflow, task_id: str) -> TaskSnapshot:
    """Cancel an unfinished task; TaskNotCancelable once it finished."""
    row = _row(op, wf, task_id)
    if not flows.cancel(task_id, "cancelled by the A2A client"):
        state = STATES.get(flows.get_run(task_id).status, "finished")
        raise errors.RpcError(
            errors.TASK_NOT_CANCELABLE, f"Task {task_id} is {state} and cannot be canceled"
        )
    return snapshot_of(row)


def _status_of(run_id: str) -> str:
    return flows.get_run(run_id).status


async def settle(run_id: str, timeout: float) -> str:
    """Wait (holding no thread) until the run stops being `running`/`waiting`, or `timeout`
    seconds pass; its status. Woken by the run's events (`workflow_runs.run_channel`); looks
    again every 0.5 s in case a notice was lost."""

    async def look() -> str:
        return await aio.in_thread(_status_of, run_id)

    return await waits.wait_until(
        workflow_runs.run_channel(run_id),
        look,
        lambda status: status not in UNSETTLED,
        timeout=timeout,
        recheck=0.5,
    )
