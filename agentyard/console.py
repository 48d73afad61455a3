"""The operator console at `/` of the combined server: a server-rendered page (no build step).

Without a credential it shows each surface with its status and links (Swagger UI, documents)
and the server's health. Behind the operator token it also shows the tenants and their keys
(prefix, kind, scopes, last used — never a secret), the latest requests this process answered,
the latest background-job events and the queue, webhook deliveries with their attempts, and
the panels products register (`core.console_panels`: HASP AI's recent inferences with their
PHI findings as types and counts).

The operator token is printed once at the first start (`bootstrap`), or set with
`AGENTYARD_OPERATOR_TOKEN`. Signing in (`POST /console/login`, a form) sets it in an HttpOnly,
SameSite=Strict cookie; `POST /console/logout` clears it.
"""

from __future__ import annotations

import hmac
import html
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from agentyard import ops, surfaces
from agentyard.config import Settings
from agentyard.core import aio, clock, jobs, keys, readiness, recent
from agentyard.core.console_panels import panels
from agentyard.core.store import connection, write
from agentyard.core.webhooks import Attempt, Delivery

SURFACE = "operator"  # the operator token is a key of this key space
COOKIE = "agentyard_operator"
ROWS = 50


def new_secret() -> str:
    return keys.random_secret("op_")


def bootstrap() -> str | None:
    """Mint the operator token on the first start (None when one exists); call in a connection."""
    if keys.has_tenants(SURFACE):
        return None
    with write():
        tenant, _ = keys.get_or_create_tenant(SURFACE, "operator")
        _, secret = keys.create_key(tenant, new_secret, name="operator console")
    return secret


def signed_in(settings: Settings, token: str | None) -> bool:
    """Whether `token` is the operator token (configured, or the stored one)."""
    if not token:
        return False
    if settings.operator_token:
        return hmac.compare_digest(token.encode(), settings.operator_token.encode())
    with connection():
        return keys.lookup(SURFACE, token) is not None


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _when(value: Any) -> str:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")
    return (clock.iso(value) or "") if isinstance(value, datetime) else str(value)


def _table(panel_id: str, title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    empty = "" if body else f"<tr><td colspan='{len(columns)}'><i>nothing yet</i></td></tr>"
    return (
        f"<section id='{_e(panel_id)}'><h2>{_e(title)}</h2>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}{empty}</tbody></table></section>"
    )


def _surfaces(mounted: list[surfaces.Surface]) -> str:
    rows = [
        (
            s.name,
            s.title,
            "complete" if s.complete else "in progress",
            s.mount,
        )
        for s in mounted
    ]
    links = {
        s.name: f'<a href="{s.mount}/ui/">Swagger UI</a> · <a href="{s.mount}/openapi.json">'
        f'openapi.json</a> · <a href="{s.mount}/openapi.yaml">openapi.yaml</a>'
        for s in mounted
    }
    body = "".join(
        f"<tr><td>{_e(n)}</td><td>{_e(t)}</td><td>{_e(st)}</td><td><code>{_e(m)}/</code></td>"
        f"<td>{links[n]}</td></tr>"
        for n, t, st, m in rows
    )
    return (
        "<section id='surfaces'><h2>Surfaces</h2><table><thead><tr><th>surface</th><th>title"
        "</th><th>operations</th><th>mount</th><th>documents</th></tr></thead>"
        f"<tbody>{body}</tbody></table></section>"
    )


def _health(settings: Settings) -> str:
    checks = readiness.check(settings)
    used = ops.backends(settings)
    rows = [(name, state) for name, state in checks.items()]
    rows += [(f"backend: {name}", kind) for name, kind in used.items()]
    return _table("health", "Health (GET /readyz)", ("check", "state"), rows)


def _keys() -> str:
    rows = (
        keys.ApiKey.select(keys.ApiKey, keys.Tenant)
        .join(keys.Tenant)
        .where(keys.ApiKey.surface != SURFACE)
        .order_by(keys.ApiKey.created_at.desc())
        .limit(200)
    )
    return _table(
        "keys",
        "Tenants and their keys",
        ("surface", "tenant", "key", "kind", "scopes", "created", "last used", "state"),
        (
            (
                k.surface,
                k.tenant.name,
                keys.shown(k),
                k.kind,
                k.scopes or "—",
                clock.iso(k.created_at),
                clock.iso(k.last_used_at) if k.last_used_at else "never",
                "revoked" if k.revoked_at else "live",
            )
            for k in rows
        ),
    )


def _requests() -> str:
    return _table(
        "requests",
        "Recent requests (this process)",
        ("at", "request id", "method", "path", "surface", "operation", "tenant", "status", "ms"),
        (
            (
                _when(r["at"]),
                r["request_id"],
                r["method"],
                r["path"],
                r["surface"],
                r["operation"],
                r["tenant"],
                r["status"],
                r["duration_ms"],
            )
            for r in recent.requests(ROWS)
            if r["surface"] != "-"
        ),
    )


def _jobs() -> str:
    queued = jobs.huey.storage.queue_size() if jobs.current_backend() is not None else "—"
    events = _table(
        "jobs",
        f"Background jobs (queued now: {queued}; events seen by this process)",
        ("at", "task", "job id", "outcome", "error"),
        (
            (_when(j["at"]), j["task"], j["id"], j["outcome"], j["error"] or "")
            for j in recent.jobs(ROWS)
        ),
    )
    return events


def _deliveries() -> str:
    rows = (
        Delivery.select(Delivery, keys.Tenant)
        .join(keys.Tenant)
        .order_by(Delivery.created_at.desc())
        .limit(ROWS)
    )
    out = []
    for d in rows:
        tries = Attempt.select().where(Attempt.delivery == d).order_by(Attempt.number)
        attempts = "; ".join(
            f"#{a.number} {a.status_code or a.error or '…'}"
            + (f" {a.duration_ms} ms" if a.duration_ms is not None else "")
            for a in tries
        )
        out.append(
            (
                clock.iso(d.created_at),
                d.product,
                d.tenant.name,
                d.event,
                d.url.split("?", 1)[0],
                d.status,
                d.attempts,
                attempts or "—",
            )
        )
    return _table(
        "deliveries",
        "Webhook deliveries",
        ("created", "product", "tenant", "event", "url", "status", "attempts", "each attempt"),
        out,
    )


STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin-bottom:1.5rem;font-size:.9rem}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3} code{background:#f6f6f6} .gate{margin:1rem 0}
"""


def _page(body: str, signed: bool) -> str:
    gate = (
        "<form class='gate' method='post' action='/console/logout'>"
        "<button id='logout'>Sign out of the console</button></form>"
        if signed
        else "<form class='gate' method='post' action='/console/login'>"
        "<label>Operator token <input id='token' name='token' type='password' "
        "autocomplete='off'></label> <button id='login'>Sign in</button>"
        "<p>The token was printed once at the first start (or set AGENTYARD_OPERATOR_TOKEN)."
        "</p></form>"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>agentyard console</title>"
        f"<style>{STYLE}</style></head><body><h1>agentyard</h1>"
        "<p>Self-hosted agent-platform APIs. Operator endpoints: <a href='/healthz'>/healthz"
        "</a> · <a href='/readyz'>/readyz</a> · <a href='/version'>/version</a> · "
        "<a href='/metrics'>/metrics</a></p>"
        f"{gate}{body}</body></html>"
    )


def endpoints(
    settings: Settings, mounted: list[surfaces.Surface]
) -> dict[tuple[str, str], Callable[[Request], Any]]:
    """The console's routes, by (method, path)."""

    def render(signed: bool) -> str:
        parts = [_surfaces(mounted), _health(settings)]
        if signed:
            with connection():
                parts += [_keys(), _requests(), _jobs(), _deliveries()]
                parts += [_table(p.id, p.title, p.columns, p.rows(ROWS)) for p in panels()]
        return _page("".join(parts), signed)

    async def page(request: Request) -> HTMLResponse:
        signed = await aio.run_blocking(signed_in, settings, request.cookies.get(COOKIE))
        text = await aio.run_blocking(render, signed)
        status = 200
        return HTMLResponse(text, status_code=status, headers={"Cache-Control": "no-store"})

    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0].strip()
        if not await aio.run_blocking(signed_in, settings, token):
            page_text = _page("<p id='refused'><b>That is not the operator token.</b></p>", False)
            return HTMLResponse(page_text, status_code=401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    async def logout(request: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    return {
        ("GET", "/"): page,
        ("POST", "/console/login"): login,
        ("POST", "/console/logout"): logout,
    }
