"""Test runs (`POST /workflows/{id}/test`) run in a sandbox: nothing leaves it.

The run's context carries `__sandbox` (set by `workflow_runs.start_run(sandbox=True)`); the
steps that act outside the run check it BEFORE calling their port, whatever adapter is
connected:

- `integration_call` calls nothing: the call is recorded as `would_have_sent`;
- `record_create` / `record_update` write nothing (no record, so no record-change trigger and
  no webhook event): the write is recorded as `would_have_sent` (kind `record_write`), and each
  project outbound webhook subscribed to the event it would have caused as `would_have_sent`
  (kind `webhook`, its id, URL and event);
- `record_query` reads as usual; `ai_chat` calls the model as usual; `call_workflow` starts a
  sandbox run of the called workflow's draft.

Each is a trace event `would_have_sent` of the step, and the step's output says what would
have happened: `{"sandbox": true, "would_have_sent": [...]}` (record steps also echo `entity`,
`values` and `id` — null for a create — so later steps still resolve).
"""

from __future__ import annotations

from typing import Any

from agentyard.flows import StepContext
from agentyard.hasp.studio.workflow_models import StudioWebhook

FLAG = "__sandbox"


def active(ctx: StepContext) -> bool:
    """Whether the step runs in a test run's sandbox."""
    return bool(ctx.context.get(FLAG))


def _record(ctx: StepContext, sent: list[dict[str, Any]]) -> None:
    for item in sent:
        ctx.trace("would_have_sent", item)


def _subscribers(org_id: str, project_id: str, event: str) -> list[dict[str, Any]]:
    """The project's live outbound webhooks an `event` would have been sent to."""
    rows = StudioWebhook.select().where(
        (StudioWebhook.tenant == org_id)
        & (StudioWebhook.project == project_id)
        & (StudioWebhook.direction == "outbound")
        & StudioWebhook.active
        & StudioWebhook.deleted_at.is_null()
    )
    return [
        {"kind": "webhook", "webhook_id": r.id, "url": r.url, "event": event}
        for r in rows.order_by(StudioWebhook.id)
        if event in (r.events or [])
    ]


def integration_call(ctx: StepContext, integration: str, operation: str, input: Any) -> Any:
    """What an integration call in the sandbox answers (nothing is called)."""
    sent = [
        {"kind": "integration_call", "integration": integration, "operation": operation,
         "input": input},
    ]  # fmt: skip
    _record(ctx, sent)
    return {"sandbox": True, "would_have_sent": sent}


def record_write(
    ctx: StepContext, event: str, entity: str, values: Any, record_id: str | None = None
) -> dict[str, Any]:
    """What a record write in the sandbox answers (nothing is written)."""
    project_id = str((ctx.context.get("workflow") or {}).get("project_id") or "")
    write = {"kind": "record_write", "event": event, "entity": entity, "record_id": record_id,
             "values": values}  # fmt: skip
    sent = [write, *_subscribers(ctx.tenant_id, project_id, f"record.{event}")]
    _record(ctx, sent)
    return {"sandbox": True, "id": record_id, "entity": entity, "values": values,
            "would_have_sent": sent}  # fmt: skip
