"""Hyphen's view of the flows engine: the `hyphen` engine (resolver, condition test) and its
event hook, which turns the engine's trace events into Hyphen's webhook events.

Step types are registered by `agentyard.hyphen.steps` (imported by the surface's MODULES).

Events (via `agentyard.hyphen.webhooks.emit`, payloads already redacted by the engine):
`workflow_run_started`, `workflow_run_completed` (also for `condition_not_met`, with the
status), `workflow_run_failed` (failed, cancelled, a form's TTL), `pbot_approval_requested`,
`pbot_approval_decided`, `external_form_created`, `external_form_submitted`,
`external_form_deleted` (a form that expired). Standalone agent runs emit none of these.
"""

from __future__ import annotations

import logging
from typing import Any

from agentyard import flows
from agentyard.core.store import connection
from agentyard.hyphen import conditions, context

log = logging.getLogger("agentyard.hyphen")

NAME = "hyphen"
AGENT_PREFIX = "agent-"
RUN_PREFIX = "run-"


def emit(org_id: str, event: str, payload: dict[str, Any]) -> None:
    """Hand an event to H1's webhooks (never raises)."""
    try:
        import agentyard.hyphen.webhooks as webhooks

        webhooks.emit(org_id, event, payload)
    except Exception:
        log.exception("hyphen: emitting %s failed", event)


def _workflow_of(run_id: str) -> dict[str, Any]:
    from agentyard.hyphen.workflow_models import RunIndex

    with connection():
        row = RunIndex.get_or_none(RunIndex.run_id == run_id)
    if row is None:
        return {"workflow_id": None, "workflow_name": None}
    return {"workflow_id": row.workflow_id, "workflow_name": row.workflow_name}


def on_event(event: flows.FlowEvent) -> None:
    """The engine's hook: map trace events of workflow runs to webhook events."""
    if event.run_id.startswith(AGENT_PREFIX):
        return
    try:  # the SDK's live events (task:created, task:decided, run:status)
        from agentyard.hyphen import sdk_events

        sdk_events.on_flow_event(event)
    except Exception:
        log.exception("hyphen: SDK events of %s failed", event.kind)
    data = event.data if isinstance(event.data, dict) else {}
    base = {"run_id": event.run_id}
    kind = event.kind
    if kind == "run_started":
        emit(event.tenant_id, "workflow_run_started", {**base, **_workflow_of(event.run_id)})
    elif kind in ("run_completed", "run_condition_not_met"):
        status = "completed" if kind == "run_completed" else "condition_not_met"
        emit(
            event.tenant_id,
            "workflow_run_completed",
            {**base, **_workflow_of(event.run_id), "status": status, "output": data.get("output")},
        )
    elif kind in ("run_failed", "run_cancelled"):
        status = "failed" if kind == "run_failed" else "cancelled"
        emit(
            event.tenant_id,
            "workflow_run_failed",
            {**base, **_workflow_of(event.run_id), "status": status, "error": data.get("error")},
        )
    elif kind == "paused":
        payload: dict[str, Any] = data["payload"] if isinstance(data.get("payload"), dict) else {}
        if data.get("kind") == "approval":
            emit(
                event.tenant_id,
                "pbot_approval_requested",
                {**base, "step_id": event.path, **payload},
            )
        elif data.get("kind") == "form":
            emit(
                event.tenant_id,
                "external_form_created",
                {**base, "step_id": event.path, **payload},
            )
    elif kind == "resumed":
        decision: dict[str, Any] = (
            data["decision"] if isinstance(data.get("decision"), dict) else {}
        )
        if data.get("kind") == "approval":
            emit(
                event.tenant_id,
                "pbot_approval_decided",
                {
                    **base,
                    "step_id": event.path,
                    "approved": decision.get("approved"),
                    "comment": decision.get("comment"),
                },
            )
        elif data.get("kind") == "form":
            emit(
                event.tenant_id,
                "external_form_submitted",
                {**base, "step_id": event.path, "keys": sorted(decision.get("data") or {})},
            )
    elif kind == "pause_expired" and data.get("kind") == "form":
        emit(
            event.tenant_id,
            "external_form_deleted",
            {**base, "step_id": event.path, "reason": "expired"},
        )


ENGINE = flows.Engine(NAME, resolve=context.resolve, test=conditions.test, on_event=on_event)
