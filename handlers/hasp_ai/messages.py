"""/v1/messages: Anthropic-compatible inference, and token counting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import JSONResponse

from agentyard.core import aio, sse
from agentyard.core.store import with_connection
from agentyard.hasp import orgs
from agentyard.hasp.ai import catalog, gateway
from agentyard.llm import count_input_tokens, encode_event
from generated.hasp_ai.models import CountTokensRequest, MessageCreateRequest
from handlers.hasp_ai.security import require


async def createMessage(body: dict[str, Any]) -> Any:
    MessageCreateRequest.model_validate(body)
    who = require("ai:chat")
    call = await aio.run_blocking(with_connection(gateway.prepare), who, body, "anthropic")
    if not body.get("stream"):
        return JSONResponse(await gateway.complete(call))
    events = gateway.stream(call)
    first = await anext(events)  # an upstream that fails at once answers a plain error

    async def frames() -> AsyncIterator[bytes]:
        yield encode_event(first)
        async for event in events:
            yield encode_event(event)

    return sse.response(frames())


@with_connection
def _count(who: Any, body: dict[str, Any]) -> dict[str, int]:
    gateway.check_features(body)
    catalog.resolve(body["model"], orgs.settings_of(who.org).opus_enabled)
    return {"input_tokens": count_input_tokens(body)}


async def countMessageTokens(body: dict[str, Any]) -> dict[str, int]:
    CountTokensRequest.model_validate(body)
    return await aio.run_blocking(_count, require("ai:chat"), body)
