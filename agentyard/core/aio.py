"""Async code meets the blocking store: `in_thread()` runs store work off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread

from agentyard.core.store import with_connection

T = TypeVar("T")


async def in_thread(func: Callable[..., T], *args: Any) -> T:
    """`func(*args)` in a worker thread, inside its own store connection (the event loop is
    never blocked). Works in the server's loop and in a job's `jobs.run_async` loop alike."""
    return await anyio.to_thread.run_sync(with_connection(func), *args)
