"""Counters summed in memory and written to the store about once a second, not per event.

A hot path that counts (e.g. requests per API key and day) adds to a `Tally`; a daemon thread
hands the sums to the tally's `write` function (inside a store connection) every `interval`
seconds. Readers call `flush()` first, so what this process counted is in the store before they
read; counts of other worker processes reach it within their own interval. Every tally is
flushed before the runtime opens another store (`settle_all`, called by `runtime.configure`:
what the old store does not take is dropped, never written to the new one) and at exit. A
failed write keeps the sums for the next attempt and is logged once per run of failures (a
store that is down is retried every interval without a traceback each time).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from agentyard.core import store

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
_TALLIES: weakref.WeakSet[Tally] = weakref.WeakSet()  # type: ignore[type-arg]


class Tally(Generic[K]):
    """Sums of `fields` integers per key, written by `write(sums)` in batches."""

    def __init__(
        self, write: Callable[[dict[K, list[int]]], None], fields: int, interval: float = 1.0
    ) -> None:
        self.write = write
        self.fields = fields
        self.interval = interval
        self._sums: dict[K, list[int]] = {}
        self._lock = threading.Lock()  # guards _sums
        self._writing = threading.Lock()  # one write at a time, in order
        self._thread: threading.Thread | None = None
        self._failing = False  # the last write failed (logged once until one succeeds)
        _TALLIES.add(self)

    def add(self, key: K, *amounts: int) -> None:
        """Add `amounts` (one per field) to `key`'s sums."""
        with self._lock:
            sums = self._sums.get(key)
            if sums is None:
                self._sums[key] = list(amounts)
            else:
                for i, amount in enumerate(amounts):
                    sums[i] += amount
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tally", daemon=True)
                self._thread.start()

    def flush(self) -> None:
        """Write every sum counted so far (a reader calls this before reading)."""
        with self._writing:
            with self._lock:
                sums, self._sums = self._sums, {}
            if not sums:
                return
            try:
                with store.connection():
                    self.write(sums)
                self._failing = False
            except Exception:
                if not self._failing:
                    log.warning(
                        "tally: could not write %d sums; kept, retried every %g s",
                        len(sums),
                        self.interval,
                        exc_info=True,
                    )
                self._failing = True
                with self._lock:
                    for key, amounts in sums.items():
                        kept = self._sums.setdefault(key, [0] * self.fields)
                        for i, amount in enumerate(amounts):
                            kept[i] += amount

    def forget(self) -> int:
        """Drop the sums not written yet (the store they were counted for is going away);
        how many keys had some."""
        with self._lock:
            dropped, self._sums = len(self._sums), {}
        self._failing = False
        return dropped

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            try:
                self.flush()
            except Exception:  # never let the writer thread die
                log.exception("tally: flush failed")


def flush_all() -> None:
    """Write every tally's sums (at exit)."""
    for tally in list(_TALLIES):
        tally.flush()


def settle_all() -> None:
    """Before the store changes: write every tally's sums to it, and drop what could not be
    written (it must not reach the next store)."""
    for tally in list(_TALLIES):
        tally.flush()
        if dropped := tally.forget():
            log.warning("tally: dropped the sums of %d keys the old store did not take", dropped)


atexit.register(flush_all)
