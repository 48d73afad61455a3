"""Async code meets the blocking store: the request threadpool.

`run_blocking()` runs a blocking call in the process's request threadpool (`THREADS` threads,
as many as Starlette's default, which the store's connection reserve counts on), in a copy of
the caller's context (the request's connection, caller and ids follow it). It costs less than
Starlette's `run_in_threadpool` (anyio's limiter and cancel scopes) or a `concurrent.futures`
executor (a `Condition` per call): one queue put, one lock and the loop's own future. Like
anyio, a cancelled caller waits for a running call to end before the cancellation goes on, so
nothing the call still uses is cleaned up under it. Security lookups,
plain `def` handlers and the blocking steps of `async def` handlers all go through it.

`in_thread()` is the same inside its own store connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from agentyard.core.store import with_connection

T = TypeVar("T")

THREADS = 40

_QUEUED, _RUNNING, _ABANDONED, _DONE = range(4)


class _Job:
    """One call handed to the pool: its result comes back through the loop's `future`."""

    __slots__ = ("call", "loop", "future", "lock", "state", "waiter")

    def __init__(self, call: Callable[[], Any], loop: asyncio.AbstractEventLoop) -> None:
        self.call = call
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()
        self.lock = threading.Lock()
        self.state = _QUEUED
        self.waiter: asyncio.Future[None] | None = None  # a cancelled caller waiting for the end


def _finish(job: _Job, result: Any, error: BaseException | None) -> None:
    """On the job's loop: hand the outcome to the caller (unless it was cancelled)."""
    job.state = _DONE
    if job.waiter is not None and not job.waiter.done():
        job.waiter.set_result(None)
    if job.future.done():
        return
    if error is None:
        job.future.set_result(result)
    else:
        job.future.set_exception(error)


def _work(jobs: queue.SimpleQueue[_Job]) -> None:
    while True:
        job = jobs.get()
        with job.lock:
            if job.state == _ABANDONED:
                continue
            job.state = _RUNNING
        result: Any = None
        error: BaseException | None = None
        try:
            result = job.call()
        except BaseException as exc:  # every outcome goes back to the caller
            error = exc
        with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody waits
            job.loop.call_soon_threadsafe(_finish, job, result, error)
        del job, result, error


class _Pool:
    """`THREADS` daemon threads reading one queue (made once per process, again after fork)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        for n in range(THREADS):
            threading.Thread(
                target=_work, args=(self.jobs,), name=f"agentyard-{n}", daemon=True
            ).start()


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def _jobs() -> queue.SimpleQueue[_Job]:
    global _pool
    pool = _pool
    if pool is None or pool.pid != os.getpid():
        with _pool_lock:
            if _pool is None or _pool.pid != os.getpid():
                _pool = _Pool()
            pool = _pool
    return pool.jobs


async def run_blocking(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`func(*args, **kwargs)` in the request threadpool, in a copy of this context."""
    loop = asyncio.get_running_loop()
    job = _Job(functools.partial(contextvars.copy_context().run, func, *args, **kwargs), loop)
    _jobs().put(job)
    try:
        return await job.future
    except asyncio.CancelledError:
        # as anyio does: a call already running ends first (its result or error dropped),
        # then the cancellation goes on; one not started yet never starts
        with job.lock:
            running = job.state == _RUNNING
            if job.state == _QUEUED:
                job.state = _ABANDONED
        if running:
            job.waiter = loop.create_future()
            await job.waiter
        raise


async def in_thread(func: Callable[..., T], *args: Any) -> T:
    """`func(*args)` in a worker thread, inside its own store connection (the event loop is
    never blocked). Works in the server's loop and in a job's `jobs.run_async` loop alike."""
    return await run_blocking(with_connection(func), *args)
