"""Build the ASGI app: one Connexion AsyncApp, one API per surface.

`create_app()` mounts every surface under its prefix (`/aisp-hub/...`), each with its published
document at `<prefix>/openapi.json` and `<prefix>/openapi.yaml` (servers = where it is served)
and Swagger UI at `<prefix>/ui/`, and a landing page at `/`.
`create_app(surface="aisp-hub")` serves one surface at its original root paths.
Handlers receive parameters under Connexion's pythonic names (`widgetId` -> `widget_id`,
`id` -> `id_`), the names `codegen.py` scaffolds.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
import logging
import os
import re
import threading
from collections.abc import Callable
from typing import Any

from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from connexion.utils import get_function_from_name
from starlette.requests import Request
from starlette.responses import Response

from agentyard import console, ops, surfaces
from agentyard.config import Settings
from agentyard.core import aio, errors, migrations, request_context, routes, runtime, tenant_mount
from agentyard.core.cors import Cors, CorsPolicy
from agentyard.core.http_guard import BodyGuard, register_limit
from agentyard.core.logs import AccessLog
from agentyard.core.operations import App
from agentyard.core.request_context import RequestContext
from agentyard.core.store import RequestConnection, release_request_connection, with_last_connection
from agentyard.core.tenant_mount import TenantMount, TenantRouting, host_of, subdomain
from agentyard.core.validators import VALIDATOR_MAP
from agentyard.specs import document

log = logging.getLogger(__name__)


def resolve_handler(name: str) -> Callable[..., Any]:
    """Import a handler; a plain `def` handler runs in the request threadpool
    (`aio.run_blocking`), in the request's store connection (the one its security lookup used),
    which goes back to the pool when it returns.

    `async def` handlers (streams, waits) give the request's connection back first and open
    connections only around the blocking work they hand to the threadpool.
    """
    func = get_function_from_name(name)
    # Connexion inspects the handler's signature on every request: computed once here.
    func.__signature__ = inspect.signature(func)  # type: ignore[attr-defined]
    if not asyncio.iscoroutinefunction(func):
        in_connection = with_last_connection(func)

        @functools.wraps(func)
        async def blocking(*args: Any, **kwargs: Any) -> Any:
            return await aio.run_blocking(in_connection, *args, **kwargs)

        return blocking

    @functools.wraps(func)
    async def releasing(*args: Any, **kwargs: Any) -> Any:
        release_request_connection()
        return await func(*args, **kwargs)

    return releasing


def _published(s: surfaces.Surface, base_path: str, as_yaml: bool) -> Callable[[Request], Any]:
    """The endpoint serving a surface's document, with `servers` = the URL it was asked at."""
    render, media_type = (
        (document.to_yaml, "application/yaml")
        if as_yaml
        else (document.to_json, "application/json")
    )

    doc = document.public(s.spec)  # the served document, read once per process

    @functools.lru_cache(maxsize=16)  # one text per URL the document was asked at
    def text(server_url: str) -> str:
        return render(document.with_servers(doc, server_url))

    @functools.lru_cache(maxsize=16)
    def per_tenant(server_url: str, default: str) -> str:
        assert s.tenant_routing is not None
        variables = s.tenant_routing.server_variables(default)
        return render(document.with_servers(doc, server_url, variables=variables))

    async def published(request: Request) -> Response:
        routing = s.tenant_routing
        if routing is None:
            server_url = str(request.base_url).rstrip("/") + base_path
            return Response(text(server_url), media_type=media_type)
        server_url, example = _tenant_server(request, base_path, routing)
        return Response(per_tenant(server_url, example), media_type=media_type)

    return published


def _tenant_server(request: Request, base_path: str, routing: TenantRouting) -> tuple[str, str]:
    """The server URL of a per-tenant surface, naming the tenant as a variable, and its
    default (the tenant the request was asked for, else the routing's example)."""
    var = "{" + routing.variable + "}"
    place = tenant_mount.current()
    if base_path:
        asked = place.name if place is not None and place.name else routing.example
        return str(request.base_url).rstrip("/") + base_path + "/" + var, asked
    host = host_of(request.scope)
    domain = routing.domain()
    port = host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else ""
    name = subdomain(host, domain)
    url = f"{request.url.scheme}://{var}.{domain}" + (f":{port}" if port else "")
    return url, name or routing.example


def create_app(
    settings: Settings | None = None,
    surface: str | None = None,
    validate_responses: bool = False,
    upgrade: bool = True,
    warm: bool = False,
) -> App:
    """The agentyard ASGI app (all surfaces, or one at its original root paths). `warm`: start
    each surface's one-off warm-up (`Surface.warm`) in the background now."""
    settings = settings or Settings.from_env()
    runtime.configure(settings)
    if upgrade:
        migrations.upgrade()
    mounted = [surfaces.get(surface)] if surface else list(surfaces.SURFACES.values())

    app = App(__name__)
    cors: list[tuple[str, CorsPolicy]] = []
    per_tenant: list[tuple[str, TenantRouting]] = []
    for s in mounted:
        base_path = "" if surface else s.mount
        if s.cors is not None:
            cors.append(("^" + re.escape(base_path) + s.cors.path_pattern, s.cors))
        if s.tenant_routing is not None:
            per_tenant.append((base_path, s.tenant_routing))
        errors.register_shape(base_path, s.error_shape)
        for sub_path, shape in s.error_shapes.items():
            errors.register_shape(base_path + sub_path, shape)
        for sub_pattern, limit in s.body_limits.items():
            register_limit(re.escape(base_path) + sub_pattern, limit)
        # every request is numbered (its log line and its `request-id` header name it)
        request_context.register(base_path, s.request_id_prefix or "req_")
        # The served document (spec + the declared limits) validates requests; the same
        # document, less internal wiring, is what `openapi.json|yaml` publish.
        spec = document.served(s.spec)
        routes.register_spec(base_path, spec)
        app.add_api(
            spec,
            base_path=base_path,
            name=s.name,
            resolver=Resolver(function_resolver=resolve_handler),
            strict_validation=True,
            validate_responses=validate_responses,
            # optional JSON bodies may be absent; multipart is streamed (core.validators)
            validator_map=VALIDATOR_MAP,
            pythonic_params=True,
            # Swagger UI stays Connexion's; the documents are ours (see _published).
            swagger_ui_options=SwaggerUIOptions(serve_spec=False),
        )
        for suffix, as_yaml in (("json", False), ("yaml", True)):
            app.add_url_rule(
                f"{base_path}/openapi.{suffix}",
                f"{s.name}-openapi-{suffix}",
                _published(s, base_path, as_yaml),
                methods=["GET"],
            )
            routes.register_path(base_path, f"/openapi.{suffix}", {"GET"})
    for s in mounted:
        if warm and s.warm is not None:
            threading.Thread(
                target=_warm, args=(s.name, s.warm), name=f"warm-{s.name}", daemon=True
            ).start()
    if not surface:
        for (method, path), endpoint in console.endpoints(settings, mounted).items():
            name = "console" + path.replace("/", "-")
            app.add_url_rule(path, name, endpoint, methods=[method])
            routes.register_path("", path, {method})
    for path, endpoint in ops.endpoints(settings).items():
        app.add_url_rule(path, "ops" + path.replace("/", "-"), endpoint, methods=["GET"])
        routes.register_path("", path, {"GET"})
    errors.install(app)
    if cors:  # outermost: every answer on those paths, errors included, gets its CORS headers
        app.add_middleware(Cors, position=MiddlewarePosition.BEFORE_EXCEPTION, routes=cors)
    if per_tenant:  # before the rest: they see the paths the specs have, tenant stripped
        app.add_middleware(
            TenantMount, position=MiddlewarePosition.BEFORE_EXCEPTION, routes=per_tenant
        )
    # Added first, so that it wraps the body guard: the guard's errors carry the request id.
    app.add_middleware(RequestContext, position=MiddlewarePosition.BEFORE_EXCEPTION)
    # inside the request context: each request's log line carries its id and tenant
    app.add_middleware(
        AccessLog,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        surface_of=_surface_of(mounted, surface),
    )
    app.add_middleware(
        BodyGuard,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        max_body_bytes=settings.max_body_bytes,
    )
    app.add_middleware(RequestConnection, position=MiddlewarePosition.BEFORE_EXCEPTION)
    return app


def _surface_of(mounted: list[surfaces.Surface], alone: str | None) -> Callable[[str], str]:
    """The surface a request path belongs to ("-" for the landing page and /healthz...)."""
    if alone:
        return lambda path: "-" if path in ops.PATHS else alone
    mounts = [(s.mount, s.name) for s in mounted]

    def surface_of(path: str) -> str:
        for mount, name in mounts:
            if path == mount or path.startswith(mount + "/"):
                return name
        return "-"

    return surface_of


def _warm(name: str, warm: Callable[[], object]) -> None:
    try:
        warm()
    except Exception:  # the request that needs it will fail closed and say why
        log.exception("%s: warming up failed", name)


def app_from_env() -> App:
    """Factory for uvicorn/gunicorn workers: settings and surface from the environment; the
    surfaces' warm-ups start at once, so no client's first request waits for them.

    The app is built at once (Connexion would build its operations on the first request) and
    what is built by then (modules, specs, routes, validators: ~250k objects) lives as long as
    the process, so it is frozen out of the garbage collector's full passes, which would
    otherwise stop every request in flight for 30-40 ms, about once a second under load."""
    app = create_app(surface=os.environ.get("AGENTYARD_SURFACE") or None, warm=True)
    app.build()
    gc.collect()
    gc.freeze()
    return app
