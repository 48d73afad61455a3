"""/v1/response: run (202, a background job), poll (a long-poll on the broker), stop."""

from __future__ import annotations

from typing import Any

from agentyard.harnesslayer import long_poll, runs
from generated.harnesslayer.models import ResponseRunRequest, ResponseStopRequest
from handlers.harnesslayer.security import caller


def runResponse(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = ResponseRunRequest.model_validate(body).model_dump(mode="json", exclude_unset=True)
    return {"data": runs.run(caller(), req)}, 202


async def pollResponse(instance_id: str, after: int = 0, timeout_ms: int = 25000) -> dict:
    """The instance's new events, waiting up to `timeoutMs` for some (a long-poll)."""
    return {"data": await long_poll.poll(caller(), instance_id, after, timeout_ms)}


def stopResponse(body: dict[str, Any]) -> dict[str, Any]:
    req = ResponseStopRequest.model_validate(body)
    return {"data": runs.stop(caller(), req.instanceId)}
