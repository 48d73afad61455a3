"""Readiness: whether the backing services a server needs answer right now.

`check(settings)` asks each one and reports `{name: "ok" | "not_configured" | "<error>"}`:
the store (a `SELECT 1` on a fresh unit of work), the job queue (its storage counts its queue)
and Redis when `REDIS_URL` is set (a PING). It never raises; each check is bounded by short
timeouts so a dead service answers within seconds. Blocking: call it from a thread.
"""

from __future__ import annotations

import functools
from typing import Any

from agentyard.config import Settings
from agentyard.core import jobs
from agentyard.core.store import connection, db

OK, NOT_CONFIGURED = "ok", "not_configured"
TIMEOUT_SECONDS = 2.0


def _store() -> str:
    with connection():
        db.execute_sql("SELECT 1").fetchone()
    return OK


def _jobs() -> str:
    if jobs.current_backend() is None:
        return "down: the job queue is not configured"
    jobs.huey.storage.queue_size()
    return OK


@functools.lru_cache(maxsize=4)
def _redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(
        url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
    )


def _redis(settings: Settings) -> str:
    if not settings.redis_url:
        return NOT_CONFIGURED
    _redis_client(settings.redis_url).ping()
    return OK


def _run(name: str, probe: Any) -> str:
    try:
        return str(probe())
    except Exception as exc:
        return f"down: {type(exc).__name__}: {str(exc)[:200]}"


def check(settings: Settings) -> dict[str, str]:
    """Each backing service's state: `ok`, `not_configured` (Redis unset) or `down: ...`."""
    return {
        "store": _run("store", _store),
        "jobs": _run("jobs", _jobs),
        "redis": _run("redis", lambda: _redis(settings)),
    }


def down(checks: dict[str, str]) -> list[str]:
    """The names of the checks that failed."""
    return [name for name, state in checks.items() if state not in (OK, NOT_CONFIGURED)]
