"""SDK tasks: the pending `PbotApproval` steps of the workflows a publishable key allows.

A task is one run paused on an approval; its id is `<runId>:<step path>` with `/` written as
`.` (`run-…:2`, `run-…:1.items.0.0`), so a decision always names the step it was shown for.
Listing and deciding reuse `agentyard.hyphen.approvals` (the same function as
`POST /approvals/{runId}/{stepId}`): a decision resumes the run, whose context then has
`@__approved` and `@__comment`.

Only a session signed in as a user (OTP) may decide, as Hyphen's task sidebar does after its
login; a `viewer` may not. The decision is recorded as made by the user's email. A task of
another org, of a workflow the key does not allow, or one no longer pending is a 404 / 409.
"""

from __future__ import annotations

from typing import Any

from agentyard.core.errors import not_found
from agentyard.hyphen import approvals, sdk_access
from agentyard.hyphen.sdk import SdkCaller
from agentyard.hyphen.workflow_models import WORKFLOW, RunIndex


def task_id(run_id: str, step_path: str) -> str:
    """The task id of the approval of `run_id` at `step_path`."""
    return f"{run_id}:{step_path.replace('/', '.')}"


def _wire(item: dict[str, Any]) -> dict[str, Any]:
    payload = item.get("request_payload")
    urgency = payload.get("urgency") if isinstance(payload, dict) else None
    return {
        "id": task_id(item["run_id"], str(item["step_id"])),
        "type": "approval",
        "run_id": item["run_id"],
        "step_id": item["step_id"],
        **({"step_index": item["step_index"]} if "step_index" in item else {}),
        "workflow_id": item.get("workflow_id"),
        "workflow_name": item.get("workflow_name"),
        "comment": item.get("comment"),
        "request_payload": payload if isinstance(payload, dict) else {},
        "urgency": urgency if isinstance(urgency, str) else "normal",
        "status": "pending",
        "created_at": item.get("created_at"),
    }


def pending(caller: SdkCaller, limit: int, offset: int) -> list[dict[str, Any]]:
    """The pending tasks the caller's key allows, oldest first."""
    workflows = sdk_access.allowed_or_all(caller.allowed_workflows)
    if workflows is not None and not workflows:
        return []
    rows = approvals.pending_approvals(
        caller.org_id, limit=limit, offset=offset, workflows=workflows
    )
    return [_wire(item) for item in rows]


def decide(
    caller: SdkCaller, task: str, approved: bool, comment: str | None, data: dict[str, Any] | None
) -> dict[str, Any]:
    """Decide a task as the signed-in user; the run resumes as with `/approvals`."""
    run_id, sep, step = task.partition(":")
    index = RunIndex.get_or_none((RunIndex.run_id == run_id) & (RunIndex.org == caller.org_id))
    if (
        not sep
        or not step
        or index is None
        or index.kind != WORKFLOW
        or not sdk_access.allows(caller.allowed_workflows, index.workflow_id, index.workflow_name)
    ):
        raise not_found("task", task)
    sdk_access.require_user(caller, write=True)
    result = approvals.decide(caller.org_id, run_id, step, approved, comment, data, caller.actor)
    return {"task_id": task_id(run_id, result["step_id"]), **result}
