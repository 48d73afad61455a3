"""/v1/ai/chat: HASP's native inference, JSON or HASP's SSE event envelopes."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, StreamingResponse

from agentyard.core import ids
from agentyard.core.store import with_connection
from agentyard.hasp import conversations, envelope, gateway
from agentyard.hasp.auth import Caller
from agentyard.hasp.gateway import Call
from generated.hasp_ai.models import ChatRequest
from handlers.hasp_ai.security import require

API_VERSION = "2026-04-01"


@with_connection
def _prepare(who: Caller, req: ChatRequest) -> Call:
    conversation = conversations.find(who.org, req.conversation_id) if req.conversation_id else None
    conversation_id = conversation.id if conversation else conversations.new_id()
    request: dict[str, Any] = {
        "model": req.model,
        "max_tokens": req.max_tokens,
        "messages": [
            *conversations.history(conversation),
            {"role": "user", "content": req.message},
        ],
    }
    if req.system:
        request["system"] = req.system
    return gateway.prepare(
        who, request, "native", stored=req.store, conversation_id=conversation_id
    )


def _text(message: dict[str, Any] | None) -> str:
    blocks = (message or {}).get("content") or []
    return "".join(b.get("text", "") for b in blocks if b.get("type") == "text")


@with_connection
def _remember(call: Call) -> None:
    """Keep the exchange in the conversation's history (placeholders, never raw PHI)."""
    exchange = gateway.exchange(call)
    if call.stored and exchange is not None and call.conversation_id:
        conversations.append(call.caller.org, call.conversation_id, *exchange)


def _frame(kind: str, data: dict[str, Any]) -> bytes:
    event_id = ids.new_id("evt")
    body = {
        "id": event_id,
        "object": "event",
        "type": kind,
        "api_version": API_VERSION,
        "created": int(time.time()),
        "data": data,
    }
    return f"event: {kind}\nid: {event_id}\ndata: {json.dumps(body)}\n\n".encode()


async def _native_events(
    call: Call, first: dict[str, Any], events: AsyncIterator[dict[str, Any]]
) -> AsyncIterator[bytes]:
    head = {"request_id": call.request_id}
    yield _frame(
        "run.created", {**head, "conversation_id": call.conversation_id, "model": call.model.id}
    )
    yield _frame("run.started", {**head, "message_id": call.message_id})
    text, stop_reason, final = "", None, None

    async def chained() -> AsyncIterator[dict[str, Any]]:
        yield first
        async for event in events:
            yield event

    async for event in chained():
        kind = event.get("type")
        if kind == "message_start":
            message = {"id": call.message_id, "role": "assistant", "content": ""}
            yield _frame("message.created", {"message": message})
        elif kind == "content_block_delta" and event["delta"].get("type") == "text_delta":
            text += event["delta"]["text"]
            delta = {"message_id": call.message_id, "delta": {"text": event["delta"]["text"]}}
            yield _frame("message.delta", delta)
        elif kind == "message_delta":
            stop_reason = (event.get("delta") or {}).get("stop_reason")
        elif kind == "message_stop":
            final = {"id": call.message_id, "role": "assistant", "content": text}
        elif kind == "error":
            error = {"type": event["error"].get("type"), "message": event["error"].get("message")}
            yield _frame("run.failed", {**head, "error": error})
            return
    raw = call.extra.get("raw")
    if final is None or raw is None:
        error = {"type": "api_error", "message": "the run ended before completing"}
        yield _frame("run.failed", {**head, "error": error})
        return
    await run_in_threadpool(_remember, call)
    yield _frame("message.completed", {"message": final})
    yield _frame("usage.updated", {"usage": gateway.native_usage(call, raw)})
    yield _frame(
        "run.completed",
        {
            **head,
            "conversation_id": call.conversation_id,
            "stop_reason": stop_reason,
            "phi": call.phi,
        },
    )


async def chat(body: dict[str, Any]) -> Any:
    req = ChatRequest.model_validate(body)
    who = require("ai:chat")
    call = await run_in_threadpool(_prepare, who, req)
    if not req.stream:
        message = await gateway.complete(call)
        await run_in_threadpool(_remember, call)
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
        return JSONResponse(envelope.ok(data, **meta))
    events = gateway.stream(call)
    first = await anext(events)
    return StreamingResponse(
        _native_events(call, first, events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache"},
    )
