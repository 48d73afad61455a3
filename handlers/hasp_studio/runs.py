"""/api/internal/workflows/{workflow_id}/runs and /test: start, test and list runs."""

from __future__ import annotations

from typing import Any

from agentyard.core import waits
from agentyard.core.aio import in_thread
from agentyard.hasp import envelope
from agentyard.hasp.studio import run_service, traces, workflow_runs
from generated.hasp_studio.models import RunCreate
from handlers.hasp_studio.security import current_member

WAIT_RECHECK = 0.5  # a test run's answer wakes on the run's events; looks again this often


def list_workflow_runs(
    workflow_id: str, status: str | None = None, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    items, next_cursor, more = run_service.list_page(
        current_member(), workflow_id, status, cursor, limit
    )
    return envelope.page(items, next_cursor, more)


def create_workflow_run(workflow_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = RunCreate.model_validate(body)
    return envelope.ok(run_service.start(current_member(), workflow_id, req.input or {})), 201


async def test_workflow(
    workflow_id: str, body: dict[str, Any], wait: int = 10
) -> tuple[dict[str, Any], int]:
    req = RunCreate.model_validate(body)
    run = await in_thread(run_service.test, current_member(), workflow_id, req.input or {})
    seconds = max(0, min(int(wait), run_service.MAX_WAIT_SECONDS))

    async def look() -> bool:
        return await in_thread(run_service.is_final, run["id"])

    ended = await waits.wait_until(
        workflow_runs.run_channel(run["id"]), look, bool, timeout=seconds, recheck=WAIT_RECHECK
    )
    if not ended:
        return envelope.ok(run), 202
    return envelope.ok(await in_thread(traces.run_result, run["id"])), 200
