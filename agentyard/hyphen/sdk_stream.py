"""`GET /sdk/events`: one SDK session's live event stream (SSE, `core.sse`).

The stream subscribes to the org's channel (`sdk_events.channel`, on the runtime's broker:
Redis when configured, so events published by any worker arrive), then, when the client
resumes with `Last-Event-ID`, replays the org's kept events after that id from the store
(`sdk_stream_log`, shared by every worker), then sends live events. Each event is a frame
`event: <type>`, `id: <id>`, `data: <JSON>`; an event the backlog already sent is not sent
twice. Only what the session's key allows is sent: workflow events (`task:created`,
`task:decided`, `run:status`) of the workflows it allows (by id or name), `table:updated` of
the tables it allows, and `authenticated` of this session only.

The stream ends itself:
- at the session's expiry, with `session:expired` (data `null`);
- when the session stops being valid otherwise (its key revoked, its user removed), with
  `error` `{message, code: "session_revoked"}` (checked every RECHECK_SECONDS).
A resume from an id the log no longer keeps starts with `error`
`{message, code: "events_missed"}` (the page should reload what it shows), then the kept ones.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from agentyard.core import clock, runtime, sse
from agentyard.core.aio import in_thread
from agentyard.core.keys import ApiKey
from agentyard.hyphen import sdk_access, sdk_events, sdk_stream_log
from agentyard.hyphen.sdk import SdkCaller
from agentyard.hyphen.sdk_models import SdkSession

OPEN = sse.comment("stream open")
RECHECK_SECONDS = 30.0
SESSION_REVOKED, EVENTS_MISSED = "session_revoked", "events_missed"


def visible(caller: SdkCaller, message: dict[str, Any]) -> bool:
    """Whether the caller's session may see a published event."""
    session = message.get("session_id")
    if session:
        return bool(session == caller.session_id)
    type_ = message.get("type")
    if type_ == sdk_events.TABLE_UPDATED:
        data = message.get("data")
        table = data.get("table") if isinstance(data, dict) else None
        return isinstance(table, str) and sdk_access.allows(caller.allowed_tables, table)
    if type_ in sdk_events.WORKFLOW_EVENTS:
        return sdk_access.allows(
            caller.allowed_workflows, message.get("workflow_id"), message.get("workflow_name")
        )
    return False  # an event type no rule above opens is not shown to anyone


def event_frame(message: dict[str, Any]) -> bytes:
    """One event as the browser reads it: its type, id and data."""
    return sse.frame(message.get("data"), event=message.get("type"), id=message.get("id"))


def _session_live(caller: SdkCaller) -> bool:
    """Whether the session still exists (its user not removed) and its key is not revoked."""
    if SdkSession.get_or_none(SdkSession.id == caller.session_id) is None:
        return False
    live_key = (ApiKey.id == caller.key_id) & ApiKey.revoked_at.is_null()
    return bool(ApiKey.select(ApiKey.id).where(live_key).exists())


async def frames(caller: SdkCaller, last_id: int | None) -> AsyncIterator[bytes]:
    """The session's stream (see the module's docstring), from `last_id` when resuming."""
    async with runtime.broker().subscribe(sdk_events.channel(caller.org_id)) as live:
        replayed: set[int] = set()
        yield OPEN
        if last_id is not None:
            backlog, missed = await in_thread(sdk_stream_log.after, caller.org_id, last_id)
            if missed:
                yield sse.frame(
                    {
                        "message": "Some events after Last-Event-ID are no longer kept; "
                        "read the current state again",
                        "code": EVENTS_MISSED,
                    },
                    event=sdk_events.ERROR,
                )
            for message in backlog:
                replayed.add(message["id"])
                if visible(caller, message):
                    yield event_frame(message)
        recheck = time.monotonic() + RECHECK_SECONDS
        while True:
            left = (caller.expires_at - clock.now()).total_seconds()
            if left <= 0:
                yield sse.frame(None, event=sdk_events.SESSION_EXPIRED)
                return
            if time.monotonic() >= recheck:
                recheck = time.monotonic() + RECHECK_SECONDS
                if not await in_thread(_session_live, caller):
                    yield sse.frame(
                        {"message": "The session is no longer valid", "code": SESSION_REVOKED},
                        event=sdk_events.ERROR,
                    )
                    return
            wait = min(left, max(0.0, recheck - time.monotonic()))
            got = await live.get(timeout=wait)
            if got is None or got.get("id") in replayed:
                continue
            if visible(caller, got):
                yield event_frame(got)
