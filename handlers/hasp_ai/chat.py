"""/v1/ai/chat: HASP's native inference, JSON or HASP's SSE event envelopes."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from agentyard.core import aio, sse
from agentyard.hasp import envelope
from agentyard.hasp.ai import chat as native
from generated.hasp_ai.models import ChatRequest
from handlers.hasp_ai.security import require


async def chat(body: dict[str, Any]) -> Any:
    req = ChatRequest.model_validate(body)
    who = require("ai:chat")
    call = await aio.run_blocking(
        native.prepare,
        who,
        req.model,
        req.max_tokens,
        req.message,
        system=req.system,
        conversation_id=req.conversation_id,
        store=req.store,
    )
    if not req.stream:
        data, meta = await native.reply(call)
        return JSONResponse(envelope.ok(data, **meta))
    return sse.response(await native.stream(call))
