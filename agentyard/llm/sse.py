"""Server-Sent Events: parse an upstream stream, encode Anthropic events for the caller."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

from agentyard.core import sse


@dataclass(frozen=True)
class SSEEvent:
    """One dispatched SSE event: `event` name ("message" by default), joined `data`, `id`."""

    event: str
    data: str
    id: str | None = None

    def json(self) -> Any:
        """`data` parsed as JSON (raises ValueError when it is not)."""
        return json.loads(self.data)


async def parse_sse(lines: AsyncIterable[str]) -> AsyncIterator[SSEEvent]:
    """SSE events from decoded lines (as `httpx.Response.aiter_lines()` yields them).

    Follows the WHATWG rules: `field: value` lines (one optional space after the colon),
    `:` comments, repeated `data:` joined with newlines, a blank line dispatches, an event
    with no data is dropped, and an unterminated event at the end of the stream is discarded.
    """
    data: list[str]
    event, data, last_id = "", [], None
    async for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield SSEEvent(event or "message", "\n".join(data), last_id)
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id" and "\0" not in value:
            last_id = value


def encode_event(event: dict[str, Any]) -> bytes:
    """One Anthropic SSE frame: `event: <type>\\ndata: <json>\\n\\n`."""
    payload = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return sse.frame(payload, event=event["type"])


def encode_data(payload: Any) -> bytes:
    """One unnamed SSE frame `data: <json>\\n\\n` (OpenAI's framing; a str is sent raw)."""
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return sse.frame(text)
