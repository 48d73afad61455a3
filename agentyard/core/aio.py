"""Async code meets the blocking store: the request threadpool.

`run_blocking()` runs a blocking call in the process's request threadpool, in a copy of the
caller's context (the request's connection, caller and ids follow it). It costs less than
Starlette's `run_in_threadpool` (anyio's limiter and cancel scopes) or a `concurrent.futures`
executor (a `Condition` per call): one queue put, one lock and the loop's own future. Like
anyio, a cancelled caller waits for a running call to end before the cancellation goes on, so
nothing the call still uses is cleaned up under it. Security lookups,
plain `def` handlers and the blocking steps of `async def` handlers all go through it.

The pool runs `ACTIVE` threads (twice the CPUs) while calls keep moving, and grows up to
`THREADS` (as many as Starlette's default, which the store's connection reserve counts on) only
when calls wait in the queue behind one that has run for `STUCK` seconds (a slow upstream, a
lock): many threads contending for the GIL under CPU load cost throughput and tail latency
(`benchmarks/requests_throughput.py`: 0.55x -> 0.68x of Flask with 40 -> 4 threads), and a
few slow calls never hold up the rest for longer than `STUCK`. A thread started for a stuck call
ends when no longer needed (as many threads above `ACTIVE` as calls stuck).

`in_thread()` is the same inside its own store connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import itertools
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from agentyard.core.store import with_connection

T = TypeVar("T")

THREADS = 40  # at most
ACTIVE = min(THREADS, 2 * (os.cpu_count() or 1))  # while no call is stuck
STUCK = 0.05  # seconds a call runs before the calls queued behind it get another thread

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


def _run(job: _Job) -> None:
    with job.lock:
        if job.state == _ABANDONED:
            return
        job.state = _RUNNING
    result: Any = None
    error: BaseException | None = None
    try:
        result = job.call()
    except BaseException as exc:  # every outcome goes back to the caller
        error = exc
    with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody waits
        job.loop.call_soon_threadsafe(_finish, job, result, error)


class _Pool:
    """Daemon threads reading one queue (made once per process, again after fork): started as
    calls come, `ACTIVE` of them kept busy, one more for each call stuck (see the module)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.threads = 0
        self.idle = 0  # threads not running a call
        self.started: dict[int, float] = {}  # thread number -> when its running call started
        self.numbers = itertools.count()
        self.watching = threading.Event()  # set while calls wait for a thread
        threading.Thread(target=self._watch, name="agentyard-pool-watch", daemon=True).start()

    def submit(self, job: _Job) -> None:
        self.jobs.put(job)
        if self.jobs.qsize() <= self.idle:  # read without the lock: a thread will take it
            return
        with self.lock:
            if self.jobs.qsize() <= self.idle:
                return
            if self.threads < ACTIVE:
                self._start()
            elif not self.watching.is_set():
                self.watching.set()

    def _start(self) -> None:
        """Start one more thread (the lock held)."""
        self.threads += 1
        self.idle += 1
        number = next(self.numbers)
        threading.Thread(
            target=self._work, args=(number,), name=f"agentyard-{number}", daemon=True
        ).start()

    def _stuck(self) -> int:
        """How many running calls have run `STUCK` seconds or more (the lock held)."""
        since = time.monotonic() - STUCK
        return sum(1 for started in self.started.values() if started <= since)

    def _work(self, number: int) -> None:
        while True:
            job = self.jobs.get()
            with self.lock:
                self.idle -= 1
                self.started[number] = time.monotonic()
            _run(job)
            del job
            with self.lock:
                del self.started[number]
                if self.threads > ACTIVE and self.threads - ACTIVE > self._stuck():
                    self.threads -= 1  # the call it stood in for is done
                    return
                self.idle += 1

    def _watch(self) -> None:
        """While calls wait with every thread busy, start one more thread for each running
        call stuck (it waits on something; the queue should not wait for it)."""
        while True:
            self.watching.wait()
            time.sleep(STUCK / 5)
            with self.lock:
                if self.jobs.qsize() <= self.idle:
                    self.watching.clear()
                    continue
                if self.threads < ACTIVE or (
                    self.threads < THREADS and self.threads - ACTIVE < self._stuck()
                ):
                    self._start()


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def _the_pool() -> _Pool:
    global _pool
    pool = _pool
    if pool is None or pool.pid != os.getpid():
        with _pool_lock:
            if _pool is None or _pool.pid != os.getpid():
                _pool = _Pool()
            pool = _pool
    return pool


async def run_blocking(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`func(*args, **kwargs)` in the request threadpool, in a copy of this context."""
    loop = asyncio.get_running_loop()
    job = _Job(functools.partial(contextvars.copy_context().run, func, *args, **kwargs), loop)
    _the_pool().submit(job)
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
