"""The SDK's live events, published on one pub/sub channel per org (`core.pubsub`), for
`GET /sdk/events` to subscribe to.

Message: `{"id", "type", "data", "workflow_id", "workflow_name", "session_id"}`. `type` and
`data` are what the browser sees (references §9):

- `task:created` `{runId, workflowName, urgency}`: a run paused on a `PbotApproval`;
- `task:decided` `{runId, stepId, approved, comment}`: its decision (from `/sdk/tasks` or
  `/approvals`);
- `run:status` `{runId, status, documentId}`: a workflow run started (`running`), paused,
  resumed (`running`), completed, failed or was cancelled;
- `authenticated` `{email, sessionId}`: a session signed in (for that session only:
  `session_id` is set).

`workflow_id`/`workflow_name` let the stream keep to the workflows a key allows; `session_id`,
when set, to one session. They come from the flows engine's hook (`engine.on_event` calls
`on_flow_event`), in whichever process runs the step, so every worker's streams see them.
"""

from __future__ import annotations

import logging
from typing import Any

from agentyard import flows
from agentyard.core import ids, runtime
from agentyard.core.store import connection

log = logging.getLogger("agentyard.hyphen.sdk")

TASK_CREATED, TASK_DECIDED, RUN_STATUS = "task:created", "task:decided", "run:status"
AUTHENTICATED = "authenticated"

_STATUS = {
    "run_started": "running",
    "resumed": "running",
    "paused": "paused",
    "run_completed": "completed",
    "run_condition_not_met": "completed",
    "run_failed": "failed",
    "run_cancelled": "cancelled",
}


def channel(org_id: str) -> str:
    """The org's SDK event channel."""
    return f"hyphen.sdk.{org_id}"


def publish(
    org_id: str,
    type_: str,
    data: dict[str, Any] | None,
    *,
    workflow_id: str | None = None,
    workflow_name: str | None = None,
    session_id: str | None = None,
) -> None:
    """Publish one event to the org's streams (never raises)."""
    message = {
        "id": ids.new_id("evt"),
        "type": type_,
        "data": data,
        "workflow_id": workflow_id,
        "workflow_name": workflow_name,
        "session_id": session_id,
    }
    try:
        runtime.broker().publish(channel(org_id), message)
    except Exception:
        log.exception("hyphen sdk: publishing %s failed", type_)


def _workflow(run_id: str) -> tuple[str | None, str | None]:
    from agentyard.hyphen.workflow_models import RunIndex

    with connection():
        row = RunIndex.get_or_none(RunIndex.run_id == run_id)
    return (row.workflow_id, row.workflow_name) if row is not None else (None, None)


def on_flow_event(event: flows.FlowEvent) -> None:
    """Turn a workflow run's engine event into SDK events (agent runs have none)."""
    status = _STATUS.get(event.kind)
    if status is None:
        return
    data = event.data if isinstance(event.data, dict) else {}
    workflow_id, workflow_name = _workflow(event.run_id)
    where = {"workflow_id": workflow_id, "workflow_name": workflow_name}
    org = event.tenant_id
    if event.kind == "paused" and data.get("kind") == "approval":
        payload = data["payload"] if isinstance(data.get("payload"), dict) else {}
        request = payload.get("request_payload")
        urgency = payload.get("urgency") or (
            request.get("urgency") if isinstance(request, dict) else None
        )
        publish(
            org,
            TASK_CREATED,
            {"runId": event.run_id, "workflowName": workflow_name, "urgency": urgency or "normal"},
            **where,
        )
    elif event.kind == "resumed" and data.get("kind") == "approval":
        decision = data["decision"] if isinstance(data.get("decision"), dict) else {}
        publish(
            org,
            TASK_DECIDED,
            {
                "runId": event.run_id,
                "stepId": event.path,
                "approved": bool(decision.get("approved")),
                "comment": decision.get("comment"),
            },
            **where,
        )
    publish(org, RUN_STATUS, {"runId": event.run_id, "status": status, "documentId": None}, **where)


def publish_table_updated(org_id: str, table: str, row_id: int, changes: dict[str, Any]) -> None:
    """`table:updated` `{table, rowId, changes}`: a row inserted or edited through `/sdk`
    (`changes`: the fields set). Streams show it to keys that allow the table."""
    publish(org_id, "table:updated", {"table": table, "rowId": row_id, "changes": changes})
