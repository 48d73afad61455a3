"""/sdk/events: the SDK session's live event stream (see agentyard.hyphen.sdk_stream)."""

from __future__ import annotations

from connexion import request
from starlette.responses import StreamingResponse

from agentyard.core import runtime, sse
from agentyard.core.errors import ApiError
from agentyard.hyphen import sdk_stream
from handlers.hyphen.security import sdk_caller


async def streamSdkEvents() -> StreamingResponse:
    """Server-Sent Events of what the session's key allows, resumable with Last-Event-ID."""
    who = sdk_caller()
    sse.require_event_stream(
        request.headers,
        ApiError(
            406,
            "not_acceptable",
            "This route answers text/event-stream only, which the request's Accept excludes",
        ),
    )
    last = sse.last_event_id(request.headers)
    heartbeat = runtime.settings().sse_heartbeat_seconds
    frames = sdk_stream.frames(who, int(last) if last else None)
    return sse.response(sse.with_heartbeat(frames, heartbeat))
