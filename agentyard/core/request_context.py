"""Per-request context for surfaces that number their requests (`request-id: req_<ulid>`).

`RequestContext` middleware gives each request under a registered path prefix an id and a
dict of extra response headers, both reachable from any code of that request through
`current()` — security functions, handlers in the threadpool, error shapes. It adds the id
header and the extra headers to whatever response goes out, error responses included.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from ulid import ULID


@dataclass
class RequestInfo:
    """What a request carries besides its HTTP data."""

    ulid: str
    id_prefix: str
    client_ip: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # added to the response
    values: dict[str, object] = field(default_factory=dict)  # set by auth, read by handlers

    @property
    def request_id(self) -> str:
        return f"{self.id_prefix}{self.ulid}"


_current: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar(
    "agentyard_request", default=None
)
_PREFIXES: list[tuple[str, str, str]] = []  # (path prefix, id prefix, header name)


def register(path_prefix: str, id_prefix: str = "req_", header: str = "request-id") -> None:
    """Number every request under `path_prefix` ("" for all)."""
    _PREFIXES[:] = [p for p in _PREFIXES if p[0] != path_prefix]
    _PREFIXES.append((path_prefix, id_prefix, header))
    _PREFIXES.sort(key=lambda p: len(p[0]), reverse=True)


def current() -> RequestInfo | None:
    """The running request's context (None outside a numbered request)."""
    return _current.get()


def _match(path: str) -> tuple[str, str] | None:
    for prefix, id_prefix, header in _PREFIXES:
        if prefix == "" or path == prefix or path.startswith(prefix + "/"):
            return id_prefix, header
    return None


class RequestContext:
    """ASGI middleware: set the context, then stamp the response headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = _match(scope.get("path", "")) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        id_prefix, header = found
        client = scope.get("client")
        info = RequestInfo(str(ULID()), id_prefix, client[0] if client else None)
        token = _current.set(info)

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = {header: info.request_id, **info.headers}
                for name, value in extra.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        finally:
            _current.reset(token)
