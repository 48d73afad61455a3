"""/api/v1/messages: send, poll, and the SSE stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from connexion import request
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from agentyard.aisp import messages
from agentyard.aisp.auth import Caller
from agentyard.aisp.sessions import inbox_channel
from agentyard.core import clock, runtime
from agentyard.core.errors import ApiError
from agentyard.core.store import with_connection
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


def _event(seq: int, message: dict[str, Any]) -> str:
    return f"id: {seq}\nevent: message\ndata: {json.dumps(message)}\n\n"


SSE_RANGES = frozenset({"text/event-stream", "text/*", "*/*"})


def accepts_event_stream(accept: str | None) -> bool:
    """Whether an `Accept` header admits `text/event-stream` (RFC 9110 §12.5.1): no header,
    or a range covering it (`text/event-stream`, `text/*`, `*/*`) with a non-zero weight."""
    if accept is None or not accept.strip():
        return True
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if media.lower() in SSE_RANGES and weight > 0:
            return True
    return False


async def streamMessages() -> StreamingResponse:
    who = caller()
    me = who.acting_session()  # 409 before the stream starts; its activity is recorded below
    accept = ", ".join(request.headers.getlist("accept")) or None  # repeated = one list
    if not accepts_event_stream(accept):
        raise ApiError(
            426,
            "upgrade_required",
            "Upgrade required — use an SSE client: this stream is text/event-stream, which "
            "the request's Accept header excludes",
        )
    last = request.headers.get("last-event-id") or request.headers.get("x-last-event-id")
    after = int(last) if last else None
    return StreamingResponse(
        _events(who, me.id, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(who: Caller, session_id: str, after: int | None) -> AsyncIterator[str]:
    heartbeat = runtime.settings().sse_heartbeat_seconds
    realm_name = who.realm.name
    async with runtime.broker().subscribe(inbox_channel(session_id)) as inbox:
        backlog, last = await run_in_threadpool(
            with_connection(messages.stream_backlog), who, after
        )
        yield ": stream open\n\n"
        for item in backlog:
            yield _event(item["seq"], item["message"])
        while True:
            event = await inbox.get(timeout=heartbeat)
            if event is None:
                yield ": heartbeat\n\n"
                continue
            if event.get("type") == "closed":
                return
            seq = event["seq"]
            if seq <= last:
                continue
            if seq > last + 1:
                for item in await run_in_threadpool(
                    with_connection(messages.missed), session_id, realm_name, last, seq
                ):
                    yield _event(item["seq"], item["message"])
            last = seq
            if await run_in_threadpool(with_connection(messages.claim), session_id, seq):
                yield _event(seq, event["message"])
