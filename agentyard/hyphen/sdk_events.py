"""The SDK's live events, published on one pub/sub channel per org (`core.pubsub`), for
`GET /sdk/events` to subscribe to.

Message: `{"id", "type", "data", "workflow_id", "workflow_name", "session_id"}`. `type` and
`data` are what the browser sees (references §9):

- `task:created` `{runId, workflowName, urgency}`: a run paused on a `PbotApproval`;
- `task:decided` `{runId, stepId, approved, comment}`: its decision (from `/sdk/tasks` or
  `/approvals`);
- `run:status` `{runId, status, documentId}`: a workflow run started (`running`), paused,
  resumed (`running`), completed, failed or was cancelled;
- `table:updated` `{table, rowId, changes}`: a custom-table row inserted or changed
  (`changes`: the fields written), from `agentyard.hyphen.tables`, whoever wrote it;
- `authenticated` `{email, sessionId}`: a session signed in (for that session only:
  `session_id` is set).

`workflow_id`/`workflow_name` let the stream keep to the workflows a key allows; `session_id`,
when set, to one session. The run events come from the flows engine's hook
(`engine.on_event` calls `on_flow_event`), in whichever process runs the step, so every
worker's streams see them. The stream itself sends `session:expired` and `error`
(`agentyard.hyphen.sdk_stream`).

`id` is the event's id in the org's replay log (`sdk_stream_log`, shared by every worker, so a
stream resumed with `Last-Event-ID` on another worker misses nothing kept); None for an org
without a live publishable key, whose events are not kept. Publish after the change committed.
"""

from __future__ import annotations

import logging
from typing import Any

from agentyard import flows
from agentyard.core import runtime
from agentyard.core.store import connection
from agentyard.hyphen import sdk_stream_log

log = logging.getLogger("agentyard.hyphen.sdk")

TASK_CREATED, TASK_DECIDED, RUN_STATUS = "task:created", "task:decided", "run:status"
AUTHENTICATED, TABLE_UPDATED = "authenticated", "table:updated"
SESSION_EXPIRED, ERROR = "session:expired", "error"  # sent by the stream itself
WORKFLOW_EVENTS = frozenset({TASK_CREATED, TASK_DECIDED, RUN_STATUS})
MAX_ROW_EVENTS = 100  # one write changing more rows sends one `rowId: null` event

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
    """Keep one event in the org's replay log and publish it to the org's streams (never
    raises)."""
    message: dict[str, Any] = {
        "type": type_,
        "data": data,
        "workflow_id": workflow_id,
        "workflow_name": workflow_name,
        "session_id": session_id,
    }
    try:
        message["id"] = sdk_stream_log.append(org_id, type_, message)
        runtime.broker().publish(channel(org_id), message)
    except Exception:
        log.exception("hyphen sdk: publishing %s failed", type_)


def table_updated(org_id: str, table: str, rows: list[tuple[int, dict[str, Any]]]) -> None:
    """`table:updated` for each row written to a custom table (`rows`: row id, the fields
    written). Past MAX_ROW_EVENTS rows in one write, one event with `rowId: null` and the
    `changes` of the first row says "many rows changed: read the table again"."""
    many = len(rows) > MAX_ROW_EVENTS
    events: list[tuple[int | None, dict[str, Any]]] = [(None, rows[0][1])] if many else [*rows]
    for row_id, changes in events:
        publish(org_id, TABLE_UPDATED, {"table": table, "rowId": row_id, "changes": changes})


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
