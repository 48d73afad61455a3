"""/api/v1/messages: send, poll, and the SSE stream."""

from __future__ import annotations

from typing import Any

from connexion import request
from starlette.responses import StreamingResponse

from agentyard.aisp import messages, stream
from agentyard.core import aio, clock, runtime, sse
from agentyard.core.errors import ApiError
from generated.aisp_hub.models import Envelope
from handlers.aisp_hub.security import caller


def sendMessage(body: dict[str, Any]) -> dict[str, Any]:
    env = Envelope.model_validate(body)
    to = [env.to.root] if isinstance(env.to.root, str) else [t.root for t in env.to.root]
    message_id, delivered = messages.send(
        caller(),
        env.aisp,
        env.from_,
        to,
        env.realm,
        env.category,
        env.payload or {},
        env.reply_to,
    )
    everywhere = all(delivered.values())
    return {
        "message_id": message_id,
        "status": "delivered" if everywhere else "queued",
        "delivered": everywhere,
        "recipients": [{"session_id": s, "delivered": d} for s, d in delivered.items()],
    }


def pollInbox(
    category: str | None = None, since: str | None = None, limit: int = 100
) -> dict[str, Any]:
    try:
        since_at = clock.parse(since) if since else None
    except ValueError as exc:
        raise ApiError(400, "invalid_request", f"since: {exc}") from None
    items, remaining = messages.poll(caller(), category, since_at, limit)
    return {"messages": items, "unread_count": len(items), "remaining": remaining}


async def streamMessages() -> StreamingResponse:
    who = caller()
    # 409 before the stream starts (a key alone's sessions are read off the event loop);
    # its activity is recorded below
    me = await aio.in_thread(who.acting_session)
    sse.require_event_stream(
        request.headers,
        ApiError(
            426,
            "upgrade_required",
            "Upgrade required — use an SSE client: this stream is text/event-stream, which "
            "the request's Accept header excludes",
        ),
    )
    last = sse.last_event_id(request.headers)
    after = int(last) if last else None
    heartbeat = runtime.settings().sse_heartbeat_seconds
    return sse.response(sse.with_heartbeat(stream.inbox_frames(who, me.id, after), heartbeat))
