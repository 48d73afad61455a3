"""HASP's native chat (`/v1/ai/chat`): a conversation turn through the gateway, answered as
one JSON message or as HASP's SSE event envelopes.

The stream: `run.created`, `run.started`, `message.created`, `message.delta`*, then
`message.completed`, `usage.updated` and `run.completed` (or `run.failed`). Each frame has
`event: <type>`, `id: evt_<ulid>` and an envelope `{id, object, type, api_version, created,
data}` as `data`.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from agentyard.core import ids, sse
from agentyard.core.aio import in_thread
from agentyard.core.store import with_connection
from agentyard.hasp.ai import conversations, gateway
from agentyard.hasp.ai.gateway import Call
from agentyard.hasp.auth import Caller

API_VERSION = "2026-04-01"


@with_connection
def prepare(
    who: Caller,
    model: str,
    max_tokens: int,
    message: str,
    *,
    system: str | None,
    conversation_id: str | None,
    store: bool,
) -> Call:
    """The gateway call for one turn: the conversation's history, then the user's message."""
    conversation = conversations.find(who.org, conversation_id) if conversation_id else None
    conversation_id = conversation.id if conversation else conversations.new_id()
    request: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [
            *conversations.history(conversation),
            {"role": "user", "content": message},
        ],
    }
    if system:
        request["system"] = system
    return gateway.prepare(who, request, "native", stored=store, conversation_id=conversation_id)


def _text(message: dict[str, Any] | None) -> str:
    blocks = (message or {}).get("content") or []
    return "".join(b.get("text", "") for b in blocks if b.get("type") == "text")


def _remember(call: Call) -> None:
    """Keep the exchange in the conversation's history (placeholders, never raw PHI)."""
    exchange = gateway.exchange(call)
    if call.stored and exchange is not None and call.conversation_id:
        conversations.append(call.caller.org, call.conversation_id, *exchange)


async def reply(call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
    """The whole reply: (data, meta) for HASP's envelope."""
    message = await gateway.complete(call)
    await in_thread(_remember, call)
    data = {
        "message": {"id": call.message_id, "role": "assistant", "content": _text(message)},
        "conversation_id": call.conversation_id,
        "stop_reason": message.get("stop_reason"),
    }
    meta = {
        "usage": gateway.native_usage(call, message),
        "phi": call.phi,
        "provider": gateway.provider_info(),
    }
    return data, meta


def frame(kind: str, data: dict[str, Any]) -> bytes:
    """One HASP event: the envelope around `data`, with a new `evt_` id."""
    event_id = ids.new_id("evt")
    body = {
        "id": event_id,
        "object": "event",
        "type": kind,
        "api_version": API_VERSION,
        "created": int(time.time()),
        "data": data,
    }
    return sse.frame(json.dumps(body), event=kind, id=event_id)


async def stream(call: Call) -> AsyncIterator[bytes]:
    """The reply as HASP's event stream. The upstream's first event is awaited before this
    returns, so an upstream that fails at once answers a plain error instead of a stream."""
    events = gateway.stream(call)
    first = await anext(events)

    async def chained() -> AsyncIterator[dict[str, Any]]:
        yield first
        async for event in events:
            yield event

    return _native_events(call, chained())


async def _native_events(call: Call, events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    head = {"request_id": call.request_id}
    yield frame(
        "run.created", {**head, "conversation_id": call.conversation_id, "model": call.model.id}
    )
    yield frame("run.started", {**head, "message_id": call.message_id})
    text, stop_reason, final = "", None, None
    async for event in events:
        kind = event.get("type")
        if kind == "message_start":
            message = {"id": call.message_id, "role": "assistant", "content": ""}
            yield frame("message.created", {"message": message})
        elif kind == "content_block_delta" and event["delta"].get("type") == "text_delta":
            text += event["delta"]["text"]
            delta = {"message_id": call.message_id, "delta": {"text": event["delta"]["text"]}}
            yield frame("message.delta", delta)
        elif kind == "message_delta":
            stop_reason = (event.get("delta") or {}).get("stop_reason")
        elif kind == "message_stop":
            final = {"id": call.message_id, "role": "assistant", "content": text}
        elif kind == "error":
            error = {"type": event["error"].get("type"), "message": event["error"].get("message")}
            yield frame("run.failed", {**head, "error": error})
            return
    raw = call.extra.get("raw")
    if final is None or raw is None:
        error = {"type": "api_error", "message": "the run ended before completing"}
        yield frame("run.failed", {**head, "error": error})
        return
    await in_thread(_remember, call)
    yield frame("message.completed", {"message": final})
    yield frame("usage.updated", {"usage": gateway.native_usage(call, raw)})
    yield frame(
        "run.completed",
        {
            **head,
            "conversation_id": call.conversation_id,
            "stop_reason": stop_reason,
            "phi": call.phi,
        },
    )
