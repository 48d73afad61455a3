"""Run a scan in a worker thread and wait for it with a timeout (fail closed).

A thread cannot be killed, so a scan that overruns keeps its worker until it returns; the
caller gets `PhiScanTimeoutError` at the deadline and a `threading.Event` tells the scan to stop
early at its next check. Workers are daemon threads, so a stuck scan never blocks interpreter
exit, and there is a fixed number of them: when all are busy, new scans wait in the queue and
that wait counts against their timeout.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from agentyard.phi.errors import PhiScanError, PhiScanTimeoutError

T = TypeVar("T")

_Job = tuple[Future, Callable[[threading.Event], object], threading.Event]


class ScanWorkers:
    """A fixed pool of daemon threads running scans with a deadline."""

    def __init__(self, workers: int = 4, name: str = "phi-scan") -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True)
            for i in range(workers)
        ]
        for t in self._threads:
            t.start()

    def _loop(self) -> None:
        while True:
            future, fn, cancelled = self._jobs.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(cancelled))
            except BaseException as exc:  # handed to the waiting caller
                future.set_exception(exc)

    def run(self, fn: Callable[[threading.Event], T], timeout: float) -> T:
        """Run ``fn(cancelled)`` on a worker; return its result within ``timeout`` seconds.

        Raises `PhiScanTimeoutError` at the deadline (``cancelled`` is set so ``fn`` can stop) and
        `PhiScanError` (chained) if ``fn`` raises.
        """
        if timeout <= 0:
            raise PhiScanTimeoutError("PHI scan timeout must be positive")
        future: Future = Future()
        cancelled = threading.Event()
        self._jobs.put((future, fn, cancelled))
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            cancelled.set()
            future.cancel()
            raise PhiScanTimeoutError(f"PHI scan did not finish within {timeout:g} s") from None
        except PhiScanError:
            raise
        except Exception as exc:
            raise PhiScanError(f"PHI scan failed: {type(exc).__name__}") from exc
