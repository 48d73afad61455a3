"""The process's shared runtime pieces, set up once by `configure()`.

Domain code reads `runtime.settings()`, `runtime.broker()` and `runtime.limiter()` instead of
passing them through every call.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentyard.config import Settings
from agentyard.core import blobs, jobs, keys, tally, webhooks
from agentyard.core.pubsub import Broker, make_broker
from agentyard.core.ratelimit import RateLimiter
from agentyard.core.store import open_database


@dataclass
class Runtime:
    settings: Settings
    broker: Broker
    limiter: RateLimiter


_current: Runtime | None = None


def configure(settings: Settings) -> Runtime:
    """Open the store, the broker and the rate limiter for these settings."""
    global _current
    if _current is not None:
        _current.broker.close()
    tally.settle_all()  # sums counted against the store being replaced
    open_database(settings.database_url, settings.data_dir)
    blobs.configure_from_env(settings.data_dir)  # AGENTYARD_BLOB_* (README, Configuration)
    jobs.configure(settings, name=settings.jobs_queue)
    webhooks.configure(
        allow_private=settings.webhook_allow_private,
        require_https=settings.webhook_require_https,
    )
    _current = Runtime(settings, make_broker(settings.redis_url), RateLimiter(settings.redis_url))
    keys.configure_cache(
        settings.key_cache_seconds,
        settings.key_cache_entries,
        settings.data_dir,
        _current.broker if settings.redis_url else None,  # in-process: forget() is enough
    )
    return _current


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("agentyard runtime is not configured; call runtime.configure()")
    return _current


def settings() -> Settings:
    return current().settings


def broker() -> Broker:
    return current().broker


def limiter() -> RateLimiter:
    return current().limiter
