"""/api/internal/projects/{project_id}/traces and /api/internal/traces/{trace_id}/...: list,
detail, replay, export and the PHI-elevated view."""

from __future__ import annotations

import datetime as dt
from typing import Any

from agentyard.core import clock
from agentyard.hasp import envelope
from agentyard.hasp.studio import errors, traces
from generated.hasp_studio.models import PhiElevationRequest, TraceReplay
from handlers.hasp_studio.security import current_member


def _time(value: str | None, param: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return clock.parse(value)
    except (ValueError, OverflowError):
        raise errors.invalid(f"{param} must be an RFC 3339 date-time", param) from None


def list_project_traces(
    project_id: str,
    workflow_id: str | None = None,
    status: str | None = None,
    since: str | None = None,
    until: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    items, next_cursor, more = traces.list_page(
        current_member(), project_id, workflow_id=workflow_id, status=status,
        since=_time(since, "since"), until=_time(until, "until"), cursor=cursor, limit=limit,
    )  # fmt: skip
    return envelope.page(items, next_cursor, more)


def get_trace(trace_id: str, elevation: str | None = None) -> dict[str, Any]:
    return envelope.ok(traces.detail(current_member(), trace_id, elevation))


def replay_trace(trace_id: str, body: dict[str, Any] | None = None) -> tuple[dict[str, Any], int]:
    req = TraceReplay.model_validate(body or {})
    return envelope.ok(traces.replay(current_member(), trace_id, req.version)), 201


def export_trace(trace_id: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    doc = traces.export(current_member(), trace_id)
    disposition = f'attachment; filename="trace-{trace_id}.json"'
    return doc, 200, {"Content-Disposition": disposition}


def elevate_trace_phi(trace_id: str, body: dict[str, Any]) -> dict[str, Any]:
    req = PhiElevationRequest.model_validate(body)
    return envelope.ok(traces.elevate(current_member(), trace_id, req.reason or ""))
