"""Server-Sent Events for every surface: frames, the streaming response, heartbeats, the
`Accept` check and `Last-Event-ID`.

A frame is `event:` / `id:` / `data:` lines and a blank line (WHATWG HTML §9.2); a `data` with
line breaks becomes one `data:` line per line. `response()` sends frames with the headers a
stream needs behind proxies (no caching, no buffering). `with_heartbeat()` keeps an idle
stream's connection alive with comment frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import Any, Protocol

from starlette.responses import StreamingResponse

from agentyard.core import metrics

MEDIA_TYPE = "text/event-stream"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
EVENT_STREAM_RANGES = frozenset({MEDIA_TYPE, "text/*", "*/*"})
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def frame(
    data: Any, *, event: str | None = None, id: str | int | None = None, id_first: bool = False
) -> bytes:
    """One SSE frame: `event: <event>`, `id: <id>`, then `data:` line(s) and a blank line.

    A str `data` is sent as it is (one `data:` line per line); anything else as
    `json.dumps(data)`. Lines for `event` / `id` are left out when None. `id_first` puts the
    `id:` line before the `event:` line (aisp-hub's wire order); clients read either order.
    """
    text = data if isinstance(data, str) else json.dumps(data)
    fields = [("event", event), ("id", id)]
    if id_first:
        fields.reverse()
    lines = [f"{name}: {value}" for name, value in fields if value is not None]
    lines.extend(f"data: {line}" for line in _LINE_BREAK.split(text))
    return ("\n".join(lines) + "\n\n").encode()


def comment(text: str) -> bytes:
    """A comment frame `: <text>` (ignored by clients; keeps the connection busy)."""
    return f": {text}\n\n".encode()


HEARTBEAT = comment("heartbeat")


def response(
    frames: AsyncIterable[bytes | str], *, headers: Mapping[str, str] | None = None
) -> StreamingResponse:
    """A `text/event-stream` response sending `frames` (no-cache, unbuffered by proxies)."""
    return StreamingResponse(
        _counted(frames), media_type=MEDIA_TYPE, headers={**HEADERS, **(headers or {})}
    )


async def _counted(frames: AsyncIterable[bytes | str]) -> AsyncIterator[bytes | str]:
    """`frames`, counted in the open streams gauge while they are sent."""
    metrics.SSE_OPEN.inc()
    try:
        async for item in frames:
            yield item
    finally:
        metrics.SSE_OPEN.dec()


async def with_heartbeat(
    frames: AsyncIterable[bytes], interval: float, beat: bytes = HEARTBEAT
) -> AsyncIterator[bytes]:
    """`frames`, with `beat` sent whenever no frame came for `interval` seconds.

    Heartbeats start after the first frame (the stream's opening), so a client sees the
    stream's own first frame first.
    """
    source = aiter(frames)
    try:
        first = await anext(source)
    except StopAsyncIteration:
        return
    yield first
    pending: asyncio.Future[bytes] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(source))
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                yield beat
                continue
            finished, pending = pending, None
            try:
                item = finished.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        closer = getattr(source, "aclose", None)
        if closer is not None:
            await closer()


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
        if media.lower() in EVENT_STREAM_RANGES and weight > 0:
            return True
    return False


class Headers(Protocol):
    """What `require_event_stream` and `last_event_id` read (Starlette's `Headers`)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def getlist(self, key: str) -> list[str]: ...


def require_event_stream(headers: Headers, refusal: Exception) -> None:
    """Raise `refusal` (the surface's own 406/426 error) unless the request's `Accept`
    headers (repeated ones read as one list) admit `text/event-stream`."""
    accept = ", ".join(headers.getlist("accept")) or None
    if not accepts_event_stream(accept):
        raise refusal


def last_event_id(headers: Headers) -> str | None:
    """The id a reconnecting client resumes after: `Last-Event-ID` (or `X-Last-Event-ID`,
    for clients that cannot set the former); None when absent or empty."""
    return headers.get("last-event-id") or headers.get("x-last-event-id") or None
