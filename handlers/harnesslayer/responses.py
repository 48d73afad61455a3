"""/v1/response: run (202, a background job), poll (a long-poll on the broker), stop."""

from __future__ import annotations

import time
from typing import Any

from starlette.concurrency import run_in_threadpool

from agentyard.core import runtime
from agentyard.core.store import with_connection
from agentyard.harnesslayer import runs
from generated.harnesslayer.models import ResponseRunRequest, ResponseStopRequest
from handlers.harnesslayer.security import caller


def runResponse(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = ResponseRunRequest.model_validate(body).model_dump(mode="json", exclude_unset=True)
    return {"data": runs.run(caller(), req)}, 202


def _ready(result: dict[str, Any]) -> bool:
    return bool(result["events"]) or result["status"] in runs.FINISHED


async def pollResponse(instance_id: str, after: int = 0, timeout_ms: int = 25000) -> dict:
    """Answer at once when there is something to say, else wait (without holding a thread)
    for an event notification on the broker, up to `timeoutMs`."""
    who = caller()
    poll = with_connection(runs.poll_once)
    result = await run_in_threadpool(poll, who, instance_id, after)
    if _ready(result) or timeout_ms <= 0:
        return {"data": result}
    deadline = time.monotonic() + timeout_ms / 1000
    async with runtime.broker().subscribe(runs.event_channel(instance_id)) as events:
        # An event may have landed between the first look and the subscription.
        result = await run_in_threadpool(poll, who, instance_id, after)
        while not _ready(result) and (left := deadline - time.monotonic()) > 0:
            note = await events.get(timeout=min(left, 5.0))
            if note is None and deadline - time.monotonic() > 0:
                continue  # a periodic look covers a notification lost by the broker
            result = await run_in_threadpool(poll, who, instance_id, after)
    return {"data": result}


def stopResponse(body: dict[str, Any]) -> dict[str, Any]:
    req = ResponseStopRequest.model_validate(body)
    return {"data": runs.stop(caller(), req.instanceId)}
