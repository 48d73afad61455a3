"""Background jobs on Huey: a SQLite file by default, Redis when `REDIS_URL` is set.

Late binding. The process has ONE Huey object, `jobs.huey`, created at import time with no
storage, so domain modules can register tasks with `@jobs.task(...)` at import time.
`jobs.configure(settings)` (called by `runtime.configure`) then binds its storage:

- embedded: `SqliteStorage` in `<data_dir>/jobs.db` (a separate file from the store, so the
  queue's locks never wait on store writes);
- scale-out: `PriorityRedisStorage` on `REDIS_URL` (what `PriorityRedisHuey` uses).

Both take a task off the queue atomically (SQLite: a `BEGIN EXCLUSIVE` select-and-delete;
Redis: `BZPOPMIN`), so several consumers in several processes never run one enqueued task
twice. Enqueueing before `configure()` raises `JobsNotConfiguredError` instead of losing the task.

Every task body runs inside `store.connection()`. Consumers: `start_consumer()` runs one in
background threads of the current process (`agentyard serve`, tests); `run_worker()` runs one
in the foreground with signal handling (`agentyard worker`). Tests may also configure
`immediate=True`, which runs un-delayed tasks inline.

Async work in a task: `jobs.run_async(coro_fn, *args)` runs it on a fresh event loop (a task
runs in a worker thread, outside any loop); inside, blocking store work goes through
`aio.in_thread(func, *args)` (a thread with its own store connection). Anything bound to an
event loop (an HTTP client, e.g. `llm.dedicated_provider()`) is created inside that loop.

Task arguments are pickled (Huey's default serializer): pass ids and plain values, and keep
Redis private to agentyard.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from huey import Huey, crontab, signals
from huey.api import TaskWrapper
from huey.consumer import Consumer, ConsumerStopped
from huey.storage import BlackHoleStorage, MemoryStorage, PriorityRedisStorage, SqliteStorage

from agentyard.config import Settings
from agentyard.core import metrics, recent
from agentyard.core.store import with_connection

__all__ = [
    "Backend",
    "InProcessConsumer",
    "JobsNotConfiguredError",
    "backend_for",
    "bind",
    "configure",
    "consumer_running",
    "current_backend",
    "crontab",
    "huey",
    "open_storage",
    "periodic_task",
    "run_async",
    "run_worker",
    "start_consumer",
    "stop_consumer",
    "task",
]

log = logging.getLogger("agentyard.jobs")

QUEUE_NAME = "agentyard"
JOBS_FILE = "jobs.db"
REDIS_BLOCK_SECONDS = 1.0  # how long an idle worker blocks on Redis (bounds stop time)


class JobsNotConfiguredError(RuntimeError):
    """A task was enqueued before `jobs.configure()` bound the queue."""


class _Unbound(BlackHoleStorage):
    """The storage before `configure()`: refuses work instead of dropping it."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise JobsNotConfiguredError("background jobs are not configured; call jobs.configure()")

    enqueue = add_to_schedule = _refuse


huey = Huey(QUEUE_NAME, storage_class=_Unbound, results=True, store_none=False, utc=True)

_OUTCOMES = {
    signals.SIGNAL_ENQUEUED: "queued",
    signals.SIGNAL_EXECUTING: "started",
    signals.SIGNAL_COMPLETE: "succeeded",
    signals.SIGNAL_ERROR: "failed",
}


@huey.signal(*_OUTCOMES)
def _count(signal: str, task: Any, *args: Any, **kwargs: Any) -> None:
    """Count every job by outcome in the metrics (`agentyard_jobs_total`) and keep the latest
    events for the operator console."""
    name, outcome = getattr(task, "name", "?"), _OUTCOMES.get(signal, signal)
    metrics.job(name, outcome)
    error = args[0] if signal == signals.SIGNAL_ERROR and args else None
    recent.job(
        {
            "at": time.time(),
            "task": name,
            "id": getattr(task, "id", None),
            "outcome": outcome,
            "error": type(error).__name__ if error is not None else None,
        }
    )


def _queued() -> int | None:
    return huey.storage.queue_size() if _backend is not None else None


metrics.queue_size_from(_queued)


@dataclass(frozen=True)
class Backend:
    """Where the queue lives: ("sqlite", file), ("redis", url) or ("memory", "")."""

    kind: str
    location: str
    name: str


_lock = threading.RLock()
_backend: Backend | None = None
_consumer: InProcessConsumer | None = None
_consumer_thread: threading.Thread | None = None


def backend_for(settings: Settings, name: str = QUEUE_NAME, immediate: bool = False) -> Backend:
    """The queue backend these settings select."""
    if immediate:
        return Backend("memory", "", name)
    if settings.redis_url:
        return Backend("redis", settings.redis_url, name)
    return Backend("sqlite", str(settings.data_dir / JOBS_FILE), name)


def open_storage(backend: Backend) -> Any:
    """A new connection to a queue: what another process sharing it would hold."""
    if backend.kind == "sqlite":
        Path(backend.location).parent.mkdir(parents=True, exist_ok=True)
        return SqliteStorage(name=backend.name, filename=backend.location, timeout=10)
    if backend.kind == "redis":
        return PriorityRedisStorage(
            name=backend.name,
            url=backend.location,
            blocking=True,
            read_timeout=REDIS_BLOCK_SECONDS,
        )
    if backend.kind == "memory":
        return MemoryStorage(backend.name)
    raise ValueError(f"unknown job backend {backend.kind!r}")


def configure(settings: Settings, *, name: str = QUEUE_NAME, immediate: bool = False) -> Huey:
    """Bind `huey` to the queue these settings select; a no-op when already bound to it.

    `name` is the queue name (the same in every process that shares the queue).
    `immediate=True` (unit tests) executes un-delayed tasks inline, in memory.
    """
    return bind(backend_for(settings, name, immediate))


def bind(backend: Backend) -> Huey:
    """Bind `huey` to `backend` (see `configure()`); tests use it to restore a binding."""
    global _backend
    with _lock:
        if backend == _backend:
            return huey
        if _consumer is not None:
            raise RuntimeError("stop_consumer() before binding jobs to another queue")
        storage = open_storage(backend)
        old = huey.storage
        huey.name = backend.name
        huey._immediate = backend.kind == "memory"
        huey.storage = storage
        _backend = backend
    try:
        old.close()
    except Exception:  # closing the previous queue is best effort
        log.debug("closing the previous job storage failed", exc_info=True)
    return huey


def current_backend() -> Backend | None:
    """The queue `huey` is bound to, or None before `configure()`."""
    return _backend


def task(
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay: float = 0,
    priority: int | None = None,
    expires: float | None = None,
    context: bool = False,
) -> Callable[[Callable[..., Any]], TaskWrapper]:
    """Register a background task (at import time); its body runs with a store connection.

    Call it like the function to enqueue (`send(x)`), or `send.schedule((x,), delay=30)` /
    `send.schedule((x,), eta=when)` to run later. `retries`/`retry_delay` re-run a task that
    raised. `name` defaults to the function name (registered as `<module>.<name>`).
    """

    def decorator(func: Callable[..., Any]) -> TaskWrapper:
        return huey.task(
            retries=retries,
            retry_delay=retry_delay,
            priority=priority,
            expires=expires,
            context=context,
            name=name,
        )(_counted_running(with_connection(func)))

    return decorator


def _counted_running(func: Callable[..., Any]) -> Callable[..., Any]:
    """`func`, counted in `agentyard_jobs_running` while it executes."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        with metrics.JOBS_RUNNING.track_inprogress():
            return func(*args, **kwargs)

    return run


def periodic_task(
    when: Callable[[Any], bool], *, name: str | None = None
) -> Callable[[Callable[..., Any]], TaskWrapper]:
    """Register a task the consumer's scheduler runs whenever `when(datetime)` (e.g.
    `crontab(minute="*/5")`) is true; each running consumer enqueues it, so keep it idempotent.
    """

    def decorator(func: Callable[..., Any]) -> TaskWrapper:
        return huey.periodic_task(when, name=name)(_counted_running(with_connection(func)))

    return decorator


T = TypeVar("T")


def run_async(coro_fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run `await coro_fn(*args)` to completion on a new event loop and return its result
    (from a task body, or any thread with no running loop). Store work inside it goes
    through `aio.in_thread`."""

    async def main() -> T:
        return await coro_fn(*args)

    return asyncio.run(main())


class InProcessConsumer(Consumer):
    """A consumer that lives inside another program: the host process keeps its signals,
    and the scheduler may tick faster than Huey's one-second minimum."""

    def __init__(self, huey: Huey, tick: float = 1.0, **options: Any) -> None:
        self.tick = tick  # read by _create_scheduler(), which Consumer.__init__ calls
        super().__init__(huey, **options)

    def _set_signal_handlers(self) -> None:
        pass

    def _create_scheduler(self) -> Any:
        scheduler = super()._create_scheduler()
        scheduler.interval = self.tick
        return scheduler


def start_consumer(
    workers: int = 1,
    *,
    periodic: bool = True,
    poll_interval: float = 1.0,
    scheduler_interval: float = 1.0,
) -> Consumer:
    """Run a consumer in background threads of this process (idempotent); returns it.

    `workers` threads execute tasks. A SQLite queue is polled at least every `poll_interval`
    seconds (Redis blocks on the queue instead); delayed tasks are moved to the queue every
    `scheduler_interval` seconds. Small values suit tests.
    """
    global _consumer, _consumer_thread
    with _lock:
        if _consumer is not None:
            return _consumer
        if _backend is None or _backend.kind == "memory":
            raise JobsNotConfiguredError("configure jobs with a SQLite or Redis queue first")
        consumer = InProcessConsumer(
            huey,
            tick=max(0.01, scheduler_interval),
            workers=workers,
            periodic=periodic,
            initial_delay=min(0.1, poll_interval),
            max_delay=poll_interval,
            scheduler_interval=1,
            check_worker_health=True,
        )
        consumer.options = {  # type: ignore[attr-defined]
            "workers": workers,
            "periodic": periodic,
            "poll_interval": poll_interval,
            "scheduler_interval": scheduler_interval,
        }
        consumer.start()  # workers and scheduler are running when this returns
        thread = threading.Thread(
            target=_supervise, args=(consumer,), name="agentyard-jobs", daemon=True
        )
        thread.start()
        _consumer, _consumer_thread = consumer, thread
        return consumer


def _supervise(consumer: Consumer) -> None:
    """Consumer.run() without start(): restart dead workers until the consumer stops."""
    health_check_ts = time.monotonic()
    while True:
        try:
            health_check_ts = consumer.loop(health_check_ts)
        except ConsumerStopped:
            break
    notify = getattr(consumer.huey, "notify_interrupted_tasks", None)
    if notify is not None:
        notify()


def stop_consumer(timeout: float = 15.0) -> dict[str, Any] | None:
    """Stop the in-process consumer, letting running tasks finish for up to `timeout` s.

    Returns the options it was started with (`start_consumer(**options)` restarts it), or
    None when none was running.
    """
    global _consumer, _consumer_thread
    with _lock:
        consumer, thread = _consumer, _consumer_thread
        _consumer = _consumer_thread = None
    if consumer is None or thread is None:
        return None
    consumer.shutdown_timeout = timeout
    consumer.stop(graceful=True)
    thread.join(timeout)
    return dict(consumer.options)


def consumer_running() -> bool:
    """Whether this process runs an in-process consumer."""
    return _consumer is not None


def run_worker(workers: int = 2, *, periodic: bool = True) -> None:
    """Run a standalone consumer in the foreground until SIGINT/SIGTERM (`agentyard worker`).

    Call after `runtime.configure()` (which calls `configure()`) and after importing the
    modules that register tasks. Workers are threads: the store's pooled connections are
    not fork-safe.
    """
    if _backend is None or _backend.kind == "memory":
        raise JobsNotConfiguredError("configure jobs with a SQLite or Redis queue first")
    consumer = huey.create_consumer(
        workers=workers,
        periodic=periodic,
        initial_delay=0.1,
        max_delay=1.0,
        worker_type="thread",
        check_worker_health=True,
    )
    consumer.run()
