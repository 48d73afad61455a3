"""CORS for browser-facing routes, product-neutral: an ASGI middleware fed by a product's
origin checks (`CorsPolicy`), declared on its `Surface` and installed by the app factory.

A browser's preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) carries no
credential, so it cannot name the key the real request will use: it is answered 204 with the
allow-* headers when `policy.preflight_allowed(origin)` (e.g. "some live key allows this
origin"), and 204 without them otherwise (the browser then refuses the real request).

On the real request, the route's authentication decides for the exact key it found, calling
`decide(scope, allowed)`; the response carries `Access-Control-Allow-Origin` only when it said
yes. When no authentication decided (a missing or unknown credential, a 400 before it), the
preflight rule applies, so a browser can read why it was refused (a 401) from an origin some
key allows and from no other. No cookies are used: `Allow-Credentials` is never sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentyard.core import aio
from agentyard.core.store import with_connection

SCOPE_KEY = "agentyard.cors"


@dataclass(frozen=True)
class CorsPolicy:
    """Which sub-paths (a regex under the surface's mount) answer CORS, and how."""

    path_pattern: str
    # sync, may query the store: whether a preflight from this origin gets the allow headers
    preflight_allowed: Callable[[str], bool]
    allow_methods: Sequence[str] = ("GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS")
    allow_headers: Sequence[str] = ("Authorization", "Content-Type")
    expose_headers: Sequence[str] = ("Retry-After",)
    max_age_seconds: int = 600


@dataclass
class _Decision:
    """What the route's authentication decided for this request's origin (None: nothing)."""

    allowed: bool | None = None


def decide(scope: dict[str, Any] | Any, allowed: bool) -> None:
    """Record, from a route's authentication, whether the request's key allows its origin."""
    holder = scope.get(SCOPE_KEY) if hasattr(scope, "get") else None
    if isinstance(holder, _Decision):
        holder.allowed = allowed


def normalize_origin(origin: str) -> str | None:
    """`scheme://host[:port]` in lower case, or None when `origin` is not a web origin."""
    match = _ORIGIN.fullmatch(origin.strip())
    if match is None:
        return None
    return origin.strip().lower()


_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?", re.IGNORECASE)


@dataclass
class _Route:
    pattern: re.Pattern[str]
    policy: CorsPolicy
    check: Callable[[str], bool] = field(init=False)

    def __post_init__(self) -> None:
        self.check = with_connection(self.policy.preflight_allowed)


class Cors:
    """ASGI middleware answering preflights and adding CORS headers on declared paths."""

    def __init__(self, app: ASGIApp, routes: Sequence[tuple[str, CorsPolicy]] = ()) -> None:
        """`routes`: (full path regex, policy), e.g. (`^/hyphen/sdk(/|$)`, policy)."""
        self.app = app
        self.routes = [_Route(re.compile(p), policy) for p, policy in routes]

    def _route(self, path: str) -> _Route | None:
        for route in self.routes:
            if route.pattern.search(path):
                return route
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.routes:
            await self.app(scope, receive, send)
            return
        route = self._route(scope.get("path", ""))
        if route is None:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        origin_raw = headers.get(b"origin")
        if origin_raw is None:
            await self.app(scope, receive, send)
            return
        origin = origin_raw.decode("latin-1")
        normal = normalize_origin(origin)
        policy = route.policy
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            allowed = normal is not None and await aio.run_blocking(route.check, normal)
            await self._preflight(send, origin if allowed else None, policy)
            return
        decision = _Decision()
        scope[SCOPE_KEY] = decision

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                allowed = decision.allowed
                if allowed is None:
                    allowed = normal is not None and await aio.run_blocking(route.check, normal)
                extra = [(b"vary", b"Origin")]
                if allowed:
                    extra += [
                        (b"access-control-allow-origin", origin_raw),
                        (
                            b"access-control-expose-headers",
                            ", ".join(policy.expose_headers).encode(),
                        ),
                    ]
                message = {**message, "headers": list(message.get("headers") or []) + extra}
            await send(message)

        await self.app(scope, receive, sending)

    @staticmethod
    async def _preflight(send: Send, origin: str | None, policy: CorsPolicy) -> None:
        headers = [(b"vary", b"Origin"), (b"content-length", b"0")]
        if origin is not None:
            headers += [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-methods", ", ".join(policy.allow_methods).encode()),
                (b"access-control-allow-headers", ", ".join(policy.allow_headers).encode()),
                (b"access-control-max-age", str(policy.max_age_seconds).encode()),
            ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
