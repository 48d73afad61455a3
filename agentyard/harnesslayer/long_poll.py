"""`GET /v1/response/poll`: an instance's new events, waiting for them when there are none."""

from __future__ import annotations

from typing import Any

from agentyard.core import waits
from agentyard.core.aio import in_thread
from agentyard.harnesslayer import runs
from agentyard.harnesslayer.auth import OrgCaller

RECHECK_SECONDS = 5.0  # a look this often covers a notification the broker lost


def _ready(result: dict[str, Any]) -> bool:
    return bool(result["events"]) or result["status"] in runs.FINISHED


async def poll(caller: OrgCaller, instance_id: str, after: int, timeout_ms: int) -> dict[str, Any]:
    """`runs.poll_once` at once when it has something to say (events, or a finished run),
    else after waiting (without holding a thread) for an event notification, up to
    `timeout_ms` milliseconds."""
    result = await in_thread(runs.poll_once, caller, instance_id, after)
    if _ready(result) or timeout_ms <= 0:
        return result
    return await waits.wait_until(
        runs.event_channel(instance_id),
        lambda: in_thread(runs.poll_once, caller, instance_id, after),
        _ready,
        timeout=timeout_ms / 1000,
        recheck=RECHECK_SECONDS,
    )
