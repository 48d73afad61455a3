"""The operator's endpoints, beside every surface and without a credential:

- `GET /healthz`: liveness — the process answers (no store touched);
- `GET /readyz`: readiness — the store, the job queue and Redis when configured answer
  (`core.readiness`); 503 naming what is down;
- `GET /version`: agentyard's version, the Python version, the backends in use;
- `GET /metrics`: Prometheus metrics (`core.metrics`); when `AGENTYARD_METRICS_TOKEN` is set,
  only with `Authorization: Bearer <token>` (401 otherwise).
"""

from __future__ import annotations

import hmac
import platform
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import agentyard
from agentyard.config import Settings
from agentyard.core import aio, clock, jobs, metrics, readiness

PATHS = ("/healthz", "/readyz", "/version", "/metrics")


def backends(settings: Settings) -> dict[str, str]:
    """What the process stores, queues and publishes with (no credential in any value)."""
    queue = jobs.current_backend()
    return {
        "store": "postgresql" if settings.database_url else "sqlite",
        "pubsub": "redis" if settings.redis_url else "in-process",
        "jobs": queue.kind if queue is not None else "not configured",
        "rate_limits": "redis" if settings.redis_url else "memory",
        "llm": settings.llm_provider,
    }


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "time": clock.iso(clock.now())})


def endpoints(settings: Settings) -> dict[str, Callable[[Request], Any]]:
    """The four endpoints, by path."""

    async def readyz(request: Request) -> JSONResponse:
        checks = await aio.run_blocking(readiness.check, settings)
        failed = readiness.down(checks)
        if failed:
            states = "; ".join(f"{name} {checks[name]}" for name in failed)
            body = {"status": "unavailable", "message": f"Not ready: {states}", "checks": checks}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "ready", "checks": checks})

    async def version(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "name": "agentyard",
                "version": agentyard.__version__,
                "python": platform.python_version(),
                "backends": backends(settings),
            }
        )

    async def metrics_text(request: Request) -> Response:
        token = settings.metrics_token
        if token:
            sent = request.headers.get("authorization", "")
            if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
                return JSONResponse(
                    {"status": "unauthorized", "message": "Send the metrics token as Bearer"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        body, media_type = await aio.run_blocking(metrics.exposition)
        return Response(body, media_type=media_type)

    return {"/healthz": healthz, "/readyz": readyz, "/version": version, "/metrics": metrics_text}
