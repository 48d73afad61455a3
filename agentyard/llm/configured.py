"""The process's LLM provider, as the runtime settings describe it.

`provider()` is the shared instance (built on first use) for code on the server's event loop.
`dedicated()` is for code that runs its own event loop (a background job's `asyncio.run`):
an HTTP client belongs to one loop, so it gets a fresh provider, closed when done.
`use_provider(instance)` replaces both with one instance (tests and benchmarks point it at
a fake upstream); `use_provider(None)` goes back to the settings.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator

from agentyard.config import Settings
from agentyard.core import runtime
from agentyard.llm.base import Provider
from agentyard.llm.factory import make_provider

_shared: Provider | None = None
_override: Provider | None = None
_lock = threading.Lock()


def from_settings(s: Settings) -> Provider:
    """A new provider configured by `s` (`llm_*` settings)."""
    return make_provider(
        s.llm_provider,
        base_url=s.llm_base_url,
        api_key=s.llm_api_key,
        model=s.llm_model,
        timeout=s.llm_timeout_seconds,
        connect_timeout=s.llm_connect_timeout_seconds,
        max_retries=s.llm_max_retries,
    )


def provider() -> Provider:
    """The process's shared provider: the override, else one built from the settings on first
    use (for the server's event loop)."""
    global _shared
    with _lock:
        if _override is not None:
            return _override
        if _shared is None:
            _shared = from_settings(runtime.settings())
        return _shared


def use_provider(instance: Provider | None) -> None:
    """Use `instance` everywhere (tests, benchmarks); None: back to the settings' provider
    (rebuilt on next use)."""
    global _shared, _override
    with _lock:
        _override = instance
        _shared = None


@contextlib.asynccontextmanager
async def dedicated() -> AsyncIterator[Provider]:
    """A provider for this event loop only: the override as it is, else a fresh one from the
    settings, closed on exit."""
    with _lock:
        override = _override
    if override is not None:
        yield override
        return
    fresh = from_settings(runtime.settings())
    try:
        yield fresh
    finally:
        await fresh.aclose()
