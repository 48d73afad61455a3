"""Structured logs: one line per record, JSON or logfmt (`AGENTYARD_LOG_FORMAT`), at the level
`AGENTYARD_LOG_LEVEL`, with an RFC 3339 UTC timestamp; and `AccessLog`, the middleware writing
one line per request (logger `agentyard.access`).

A request's line carries: `request_id` (the `request-id` the response carries), `method`,
`path` (no query string; a path segment that looks like a signed token is replaced by
`[token]`), `surface`, `operation` (the spec's operationId), `tenant` (the caller's tenant id,
when one authenticated), `status`, `duration_ms`. Nothing else from the request is logged:
no header, no query, no body — credentials, signed URLs and PHI never reach a log line.
"""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentyard.core import metrics, recent, request_context

ACCESS = logging.getLogger("agentyard.access")
_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# a signed token (payload.signature, base64url) or any over-long segment
_TOKEN_SEGMENT = re.compile(r"^(?:[A-Za-z0-9_\-]{12,}\.[A-Za-z0-9_\-.]{12,}|.{81,})$")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    out.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
    if record.exc_info:
        out["exc"] = logging.Formatter().formatException(record.exc_info)
    return out


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), default=str, separators=(",", ":"))


def _logfmt_value(value: Any) -> str:
    text = "" if value is None else str(value)
    if text and not re.search(r'[\s"=]', text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={_logfmt_value(v)}" for k, v in _fields(record).items())


def configure(level: str = "INFO", fmt: str = "json") -> None:
    """Send every log record to stderr, one structured line each (uvicorn's too)."""
    handler = logging.StreamHandler()
    handler.setFormatter(LogfmtFormatter() if fmt == "logfmt" else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    for name in ("uvicorn", "uvicorn.error", "gunicorn.error"):
        named = logging.getLogger(name)
        named.handlers[:] = []
        named.propagate = True
    # the access lines are AccessLog's: uvicorn's own would log query strings (signed tokens)
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("gunicorn.access").disabled = True
    # Connexion logs every refused credential at INFO: the access line says 401 already
    logging.getLogger("connexion").setLevel(max(root.level, logging.WARNING))


def safe_path(path: str) -> str:
    """`path` with token-like segments replaced by `[token]`."""
    return "/".join("[token]" if _TOKEN_SEGMENT.match(s) else s for s in path.split("/"))


class AccessLog:
    """ASGI middleware: time each HTTP request, count it in the metrics and log one line.

    Install it inside `request_context.RequestContext`, so it sees the request's id and the
    tenant security stored there; `surface_of(path)` names the surface of a path."""

    def __init__(self, app: ASGIApp, surface_of: Any) -> None:
        self.app = app
        self.surface_of = surface_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        # Connexion's routing copies the scope but shares this dict: it names the operation here
        scope.setdefault("extensions", {})

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._done(scope, status, time.perf_counter() - start)

    def _done(self, scope: Scope, status: int, seconds: float) -> None:
        path = scope.get("path", "")
        routing = (scope.get("extensions") or {}).get("connexion_routing") or {}
        # the handler's dotted name, whose last part is the spec's operationId
        operation = str(routing.get("operation_id") or "").rsplit(".", 1)[-1]
        surface = self.surface_of(path)
        metrics.observe_request(surface, operation, status, seconds)
        info = request_context.current()
        line = {
            "request_id": info.request_id if info else None,
            "method": scope.get("method"),
            "path": safe_path(path),
            "surface": surface,
            "operation": operation or None,
            "tenant": info.values.get("tenant") if info else None,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
        }
        ACCESS.info("request", extra=line)
        recent.request({"at": time.time(), **line})
