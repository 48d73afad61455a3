"""core.aio.run_blocking: the request threadpool's context, results, errors and cancellation."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

import pytest

from agentyard.core import aio

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


def test_the_call_runs_off_the_loop_in_the_callers_context() -> None:
    async def main() -> tuple[str, str, int]:
        WHO.set("caller")
        return await aio.run_blocking(
            lambda n: (WHO.get(), threading.current_thread().name, n * 2), 21
        )

    who, thread, doubled = asyncio.run(main())
    assert who == "caller"
    assert thread.startswith("agentyard") and thread != threading.main_thread().name
    assert doubled == 42


def test_an_error_in_the_call_reaches_the_caller() -> None:
    def fail() -> None:
        raise ValueError("from the thread")

    with pytest.raises(ValueError, match="from the thread"):
        asyncio.run(aio.run_blocking(fail))


def test_a_cancelled_caller_waits_for_the_running_call_to_end() -> None:
    started, ended = threading.Event(), threading.Event()

    def slow() -> None:
        started.set()
        time.sleep(0.3)
        ended.set()

    async def main() -> bool:
        task = asyncio.create_task(aio.run_blocking(slow))
        while not started.is_set():
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return ended.is_set()  # the cancellation went on only after the call ended

    assert asyncio.run(main()) is True


def test_a_call_cancelled_before_it_started_never_runs() -> None:
    release, ran = threading.Event(), threading.Event()

    async def main() -> None:
        # every pool thread busy, so the next call waits in the queue
        busy = [asyncio.create_task(aio.run_blocking(release.wait, 5)) for _ in range(aio.THREADS)]
        await asyncio.sleep(0.2)
        queued = asyncio.create_task(aio.run_blocking(ran.set))
        await asyncio.sleep(0.05)
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        release.set()
        await asyncio.gather(*busy)
        await asyncio.sleep(0.1)  # a thread is free again: the abandoned call is skipped

    asyncio.run(main())
    assert not ran.is_set()


def test_calls_that_keep_moving_run_on_at_most_active_threads() -> None:
    running, most = 0, 0
    lock = threading.Lock()

    def call() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.002)  # short, as a query is
        with lock:
            running -= 1

    async def main() -> None:
        await asyncio.gather(*(aio.run_blocking(call) for _ in range(200)))

    asyncio.run(main())
    assert 1 < most <= aio.ACTIVE


def test_a_stuck_call_does_not_hold_up_the_calls_queued_behind_it() -> None:
    release = threading.Event()

    async def main() -> float:
        # every thread the pool keeps is stuck (a slow upstream, a lock) ...
        stuck = [asyncio.create_task(aio.run_blocking(release.wait, 5)) for _ in range(aio.ACTIVE)]
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await aio.run_blocking(
            lambda: None
        )  # ... a quick call still runs, on a thread started for it
        waited = time.monotonic() - started
        release.set()
        await asyncio.gather(*stuck)
        return waited

    assert asyncio.run(main()) < 1.0  # not the 5 s the stuck calls could take


def test_threads_started_for_stuck_calls_end_with_them() -> None:
    release = threading.Event()

    def pool_threads() -> int:
        names = [t.name for t in threading.enumerate()]
        return sum(1 for n in names if n.startswith("agentyard-") and n[10:].isdigit())

    async def main() -> tuple[int, int]:
        stuck = [
            asyncio.create_task(aio.run_blocking(release.wait, 5)) for _ in range(aio.ACTIVE + 3)
        ]
        deadline = time.monotonic() + 3
        while pool_threads() < aio.ACTIVE + 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        grown = pool_threads()
        release.set()
        await asyncio.gather(*stuck)
        await asyncio.gather(*(aio.run_blocking(time.sleep, 0.001) for _ in range(50)))
        await asyncio.sleep(0.1)
        return grown, pool_threads()

    grown, after = asyncio.run(main())
    assert grown == aio.ACTIVE + 3  # one thread for each call waiting behind stuck ones
    assert after == aio.ACTIVE
