"""/health and /health/ready: liveness and readiness, without a credential."""

from __future__ import annotations

from typing import Any

from agentyard.core import aio, clock, readiness, runtime
from agentyard.core.errors import ApiError


async def getHealth() -> dict[str, Any]:
    """Liveness: the process answers (async: it touches no store connection)."""
    return {"status": "ok", "service": "hyphen", "time": clock.iso(clock.now())}


async def getReadiness() -> dict[str, Any]:
    """Readiness: the store, the job queue and Redis (when configured) answer; 503 naming
    what is down otherwise."""
    checks = await aio.run_blocking(readiness.check, runtime.settings())
    failed = readiness.down(checks)
    if failed:
        states = "; ".join(f"{name} {checks[name]}" for name in failed)
        raise ApiError(503, "unavailable", f"Not ready: {states}", {"checks": checks})
    return {"status": "ready", "checks": checks}
