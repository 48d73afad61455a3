"""Surfaces served per tenant: the tenant named by a path segment or by the Host's subdomain.

A surface served "at `{tenant}.<domain>`" (HASP's org runtime: `{org}.usehasp.run`) keeps its
spec's paths as the seed has them. `TenantMount` (ASGI middleware) finds the tenant and strips
it before routing:

- combined server, surface mounted at `/m`: `/m/{tenant}/rest` is routed as `/m/rest`;
- the surface served alone (mounted at ""): the tenant is the Host's subdomain of the routing's
  `domain()` (`acme.localhost:8000` → `acme` with domain `localhost`).

Paths listed in `passthrough` (the published documents, Swagger UI) are not per tenant. Code of
the request reads where it is served with `current()`: the tenant's name (None when the request
names none) and the absolute URL prefix of its paths (`place.url("/a2a/x")`), as the client
used them. Which tenant the name is, and a 404 for an unknown one, is the product's business.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass(frozen=True)
class TenantRouting:
    """How a surface's requests name their tenant (see the module docstring)."""

    domain: Callable[[], str]  # the base domain of `{tenant}.<domain>` when served alone
    passthrough: tuple[str, ...] = ("/openapi.json", "/openapi.yaml", "/ui")
    variable: str = "tenant"  # the tenant's name in the published documents' server URL
    example: str = "acme"  # its default there

    def server_variables(self, default: str | None = None) -> dict[str, dict[str, str]]:
        """The `variables` of a published server URL naming the tenant as `{<variable>}`."""
        return {self.variable: {"default": default or self.example, "description": "the tenant"}}


@dataclass(frozen=True)
class TenantPlace:
    """Where the current request is served: its tenant and the URL prefix of its paths."""

    name: str | None
    origin: str  # scheme://host[:port], as the client asked
    prefix: str  # the path in front of the spec's paths: `/m/{tenant}`, or "" when alone

    def url(self, path: str) -> str:
        """The absolute URL of one of the surface's own paths."""
        return self.origin + self.prefix + path


_current: contextvars.ContextVar[TenantPlace | None] = contextvars.ContextVar(
    "agentyard_tenant_place", default=None
)


def current() -> TenantPlace | None:
    """Where the running request is served (None outside a per-tenant surface)."""
    return _current.get()


def host_of(scope: Scope) -> str:
    """The request's `Host` (or the server address when the client sent none)."""
    for name, value in scope.get("headers") or ():
        if name == b"host":
            return value.decode("latin-1").strip()
    server = scope.get("server")
    return f"{server[0]}:{server[1]}" if server else "localhost"


def subdomain(host: str, domain: str) -> str | None:
    """`acme` for host `acme.localhost:8000` and domain `localhost`; None when the host is not
    a subdomain of `domain`."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name, domain = name.lower().rstrip("."), domain.lower().strip(".")
    suffix = "." + domain
    if domain and name.endswith(suffix) and len(name) > len(suffix):
        return name[: -len(suffix)]
    return None


class TenantMount:
    """ASGI middleware: find the tenant of requests under the given mounts (module docstring).

    `routes`: (mount, routing) pairs; mount "" is a surface served alone.
    """

    def __init__(self, app: ASGIApp, routes: list[tuple[str, TenantRouting]]) -> None:
        self.app = app
        self.routes = sorted(routes, key=lambda r: len(r[0]), reverse=True)

    def _place(self, scope: Scope) -> tuple[TenantPlace, str] | None:
        path: str = scope.get("path", "")
        host = host_of(scope)
        origin = f"{scope.get('scheme', 'http')}://{host}"
        for mount, routing in self.routes:
            if mount and not path.startswith(mount + "/"):
                continue
            rest = path[len(mount) :]
            if any(rest == p or rest.startswith(p + "/") for p in routing.passthrough):
                return None
            if not mount:
                return TenantPlace(subdomain(host, routing.domain()), origin, ""), path
            name, _, tail = rest[1:].partition("/")
            place = TenantPlace(name or None, origin, f"{mount}/{name}" if name else mount)
            return place, mount + ("/" + tail if tail else "")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self._place(scope) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        place, path = found
        token = _current.set(place)
        try:
            routed = {**scope, "path": path, "raw_path": quote(path).encode()}
            await self.app(routed, receive, send)
        finally:
            _current.reset(token)
