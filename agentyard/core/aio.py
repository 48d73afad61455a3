"""Async code meets the blocking store: the request threadpool.

`run_blocking()` runs a blocking call in the process's request threadpool (`THREADS` threads,
as many as Starlette's default, which the store's connection reserve counts on), in a copy of
the caller's context (the request's connection, caller and ids follow it). It costs less than
Starlette's `run_in_threadpool` (anyio's limiter and cancel scopes: ~60 us of CPU per call
against ~25 us) and, like it, a cancelled caller waits for the call to end before the
cancellation goes on, so nothing the call still uses is cleaned up under it. Security lookups,
plain `def` handlers and the blocking steps of `async def` handlers all go through it.

`in_thread()` is the same inside its own store connection.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from agentyard.core.store import with_connection

T = TypeVar("T")

THREADS = 40

_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """This process's pool (made on first use; again in a forked worker)."""
    global _pool, _pool_pid
    pool = _pool
    if pool is not None and _pool_pid == os.getpid():
        return pool
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="agentyard")
            _pool_pid = os.getpid()
        return _pool


async def run_blocking(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`func(*args, **kwargs)` in the request threadpool, in a copy of this context."""
    call = functools.partial(contextvars.copy_context().run, func, *args, **kwargs)
    done = _executor().submit(call)
    try:
        return await asyncio.wrap_future(done)
    except asyncio.CancelledError:
        # as anyio does: a call already running ends first (its result or error dropped),
        # then the cancellation goes on; one not started yet never starts
        if not done.cancel():
            await asyncio.wait([asyncio.wrap_future(done)])
        raise


async def in_thread(func: Callable[..., T], *args: Any) -> T:
    """`func(*args)` in a worker thread, inside its own store connection (the event loop is
    never blocked). Works in the server's loop and in a job's `jobs.run_async` loop alike."""
    return await run_blocking(with_connection(func), *args)
