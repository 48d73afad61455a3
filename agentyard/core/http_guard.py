"""ASGI middleware that rejects unusable request bodies before any handler runs.

Bodies over the configured maximum get 413; a JSON body that is not UTF-8, not JSON, holds a
non-finite number, an integer of more than MAX_INT_DIGITS digits or an object with a duplicate
key (at any depth), or nests deeper than MAX_DEPTH gets 400, and so does a path or query string
holding a NUL (`%00`) — each in the surface's error shape, so no handler sees such input and
nothing is written. A path ending in a line feed (`%0A`) gets 404: the router's patterns end in
`$`, which matches before a final newline, so `/agents/%0A` would otherwise reach the
collection route `/agents/` (a list, or a 405) instead of the item it names, which cannot exist.

Only JSON bodies (`application/json`, `*+json`) are parsed; other media types (e.g.
`application/octet-stream` file uploads) are only size-checked.

What JSON values may hold is the schemas' business, not the guard's: the served documents
(`agentyard.specs.document.served`) give every plain string a no-U+0000 pattern and every
unbounded integer the signed 64-bit bounds, so a typed field holding NUL or a huge integer is
refused by validation in the surface's shape, while free-form JSON values (stored as JSON
text, where NUL is the escape `\\u0000`) keep them intact.

Per-path limits. The maximum is the app-wide `max_body_bytes`, except on paths registered
with `register_limit(path_regex, limit)`, e.g. a file upload route that takes larger bodies.
The regex is matched (`fullmatch`) against the full request path (mount included); the limit
is a `BodyLimit` (or just its `max_bytes`: an int, or a zero-argument callable read on every
request, so a limit can follow settings configured after import). The first registered
match wins. A `streamed` limit is for handlers that read the body as a stream: the guard
only refuses a `Content-Length` over the maximum and passes the body through unbuffered, and
the handler must cap what it reads. Any other body is buffered in memory here.

The buffered body stays readable as sent: `raw_body(scope)` gives its exact bytes (for a
handler that verifies a signature over them after validation has consumed the stream).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentyard.core.errors import render

MAX_DEPTH = 64
MAX_INT_DIGITS = 4300  # Python's own limit on converting integer text (sys.int_info)
# A path or query string holding NUL never names anything: refused before routing.
NUL_MESSAGE = "the path and query string must not contain NUL (U+0000) characters"
_NUL_IN_QUERY = re.compile(rb"%00|\x00")

Limit = int | Callable[[], int]
RAW_BODY_KEY = "agentyard.raw_body"


def raw_body(scope: Scope) -> bytes | None:
    """The exact request body the guard buffered for this request (None: not buffered)."""
    body = scope.get(RAW_BODY_KEY)
    return body if isinstance(body, bytes) else None


@dataclass(frozen=True)
class BodyLimit:
    """A path's body maximum (bytes, or a callable giving them per request); `streamed`: its
    handler reads the body as a stream and caps it itself, so the guard does not buffer it."""

    max_bytes: Limit
    streamed: bool = False

    def resolve(self) -> int:
        return self.max_bytes() if callable(self.max_bytes) else self.max_bytes


_LIMITS: list[tuple[re.Pattern[str], BodyLimit]] = []


def register_limit(path_regex: str, limit: BodyLimit | Limit) -> None:
    """Use `limit` for bodies on paths matching `path_regex` (fullmatch, mount included);
    registering a regex again replaces it."""
    pattern = re.compile(path_regex)
    rule = limit if isinstance(limit, BodyLimit) else BodyLimit(limit)
    _LIMITS[:] = [(p, m) for p, m in _LIMITS if p.pattern != pattern.pattern]
    _LIMITS.append((pattern, rule))


def rule_for(path: str, default: int) -> BodyLimit:
    """The body rule of a request path: the first registered match, else `default` bytes."""
    for pattern, rule in _LIMITS:
        if pattern.fullmatch(path):
            return rule
    return BodyLimit(default)


def limit_for(path: str, default: int) -> int:
    """The body maximum of a request path: the first registered match, else `default`."""
    return rule_for(path, default).resolve()


class BadJsonError(ValueError):
    """The body is not acceptable JSON."""


def _parse_int(text: str) -> int:
    if len(text) - text.startswith("-") > MAX_INT_DIGITS:
        raise BadJsonError(f"integer {text[:20]}... has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJsonError(f"number {text[:40]} is out of range")
    return value


def _reject_constant(name: str) -> Any:
    raise BadJsonError(f"{name} is not valid JSON")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`object_pairs_hook`: the object, or BadJsonError when a key appears twice in it.

    A parser that keeps the last value (Python's) and one that keeps the first (others) would
    read such a body differently; no request may mean two things."""
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise BadJsonError(f"duplicate key {json.dumps(key)[:80]} in a JSON object")
            seen.add(key)
    return value


def _depth(value: Any) -> int:
    """How deep `value` nests (a scalar is 0, `[]` or `{}` is 1)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def check_json(body: bytes) -> None:
    """Raise BadJsonError when `body` is not strict UTF-8 JSON within our limits."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadJsonError(f"request body is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_reject_constant,
            object_pairs_hook=_no_duplicate_keys,
        )
    except BadJsonError:
        raise
    except RecursionError:
        raise BadJsonError(f"JSON nests deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise BadJsonError(f"request body is not valid JSON: {exc}") from None
    if _depth(value) > MAX_DEPTH:
        raise BadJsonError(f"JSON nests deeper than {MAX_DEPTH} levels")


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class BodyGuard:
    """Buffer each request body (bounded), vet it, then replay it to the app."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or _NUL_IN_QUERY.search(scope.get("query_string", b"")):
            await self._reject(scope, send, 400, NUL_MESSAGE)
            return
        if scope["path"].endswith("\n"):
            path = scope.get("root_path", "") + scope["path"]
            await self._reject(scope, send, 404, f"No such endpoint: {scope['method']} {path!r}")
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        rule = rule_for(scope.get("root_path", "") + scope["path"], self.max_body_bytes)
        limit = rule.resolve()
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await self._reject(scope, send, 413, self._too_large(limit))
            return
        if rule.streamed:  # its handler reads and caps the stream itself
            await self.app(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._reject(scope, send, 413, self._too_large(limit))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        scope[RAW_BODY_KEY] = body
        if body and _is_json(headers.get("content-type", "")):
            try:
                check_json(body)
            except BadJsonError as exc:
                await self._reject(scope, send, 400, str(exc))
                return
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self, limit: int) -> str:
        return f"Request body exceeds the maximum of {limit} bytes"

    async def _reject(self, scope: Scope, send: Send, status: int, message: str) -> None:
        path = scope.get("root_path", "") + scope["path"]
        body, headers = render(path, status, None, message)
        if status == 413:
            headers["connection"] = "close"
        raw = [(k.encode(), v.encode()) for k, v in headers.items()]
        raw.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
