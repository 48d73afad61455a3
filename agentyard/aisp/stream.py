"""The inbox stream (SSE) and the ping round trip: the hub's live, async parts.

`inbox_frames()` sends the backlog (unread, or everything after `Last-Event-ID`), then each
message published on the session's inbox channel, claimed so a poll never returns it again;
a gap in the sequence (a notification the broker lost) is filled from the store. `ping()`
delivers a ping and waits, without holding a thread, for the target's pong.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, cast

from agentyard.aisp import messages
from agentyard.aisp.auth import Caller
from agentyard.aisp.sessions import inbox_channel
from agentyard.core import ids, runtime, sse, waits
from agentyard.core.aio import in_thread
from agentyard.core.errors import ApiError

OPEN = sse.comment("stream open")


def message_frame(seq: int, message: dict[str, Any]) -> bytes:
    """One inbox event: `id: <seq>`, `event: message`, the message as `data`."""
    return sse.frame(message, event="message", id=seq, id_first=True)


async def inbox_frames(who: Caller, session_id: str, after: int | None) -> AsyncIterator[bytes]:
    """The session's inbox stream, from `after` (None: its unread messages) on."""
    realm_name = who.realm.name
    async with runtime.broker().subscribe(inbox_channel(session_id)) as inbox:
        backlog, last = await in_thread(messages.stream_backlog, who, after)
        yield OPEN
        for item in backlog:
            yield message_frame(item["seq"], item["message"])
        while True:
            event = cast(dict[str, Any], await inbox.get())  # no timeout: never None
            if event.get("type") == "closed":
                return
            seq = event["seq"]
            if seq <= last:
                continue
            if seq > last + 1:
                for item in await in_thread(messages.missed, session_id, realm_name, last, seq):
                    yield message_frame(item["seq"], item["message"])
            last = seq
            if await in_thread(messages.claim, session_id, seq):
                yield message_frame(seq, event["message"])


async def ping(who: Caller, target_id: str, nonce: str) -> dict[str, Any]:
    """Ping `target_id` and wait for its pong; 408 `ping_timeout` when none comes in time."""
    ping_id = ids.new_id("msg")
    timeout = runtime.settings().aisp_ping_timeout_seconds
    async with waits.watch(messages.pong_channel(ping_id), timeout) as pongs:
        await in_thread(messages.send_ping, who, target_id, nonce, ping_id)
        if await pongs.first(lambda pong: pong.get("nonce") == nonce) is not None:
            latency = int((time.monotonic() - pongs.started) * 1000)
            return {"status": "alive", "latency_ms": latency, "nonce": nonce}
    raise ApiError(
        408, "ping_timeout", f"Ping timed out after {timeout:g} s — session may be inactive"
    )
