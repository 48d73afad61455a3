"""Scanner processes: PHI scans on every core, failing closed.

One Python process scans on one core at a time (spaCy and the regex recognizers hold the GIL),
so the guard hands scans to a small pool of *scanner processes*, each with its own analyzer.
The texts of one request are spread over the idle scanners and scanned concurrently; when
there are at least two idle scanners per text, each text's scan is split in two halves (spaCy
NER | pattern recognizers, `agentyard.phi.scan`) run on two scanners at once.

When every scanner is busy, requests wait in line, and the first waiting request to get a
scanner takes the texts of the requests behind it too (up to `BATCH_TEXTS` texts and
`BATCH_CHARS` characters, its share when several scanners are free) and scans them as one job:
spaCy runs over them as a batch, about 12 % less CPU per 1 KB text, so a loaded server scans
more texts per second. No request waits past its own deadline; a job runs until the deadline
of the request that took it (those behind it in line came later) and, failing or overrunning,
fails every request in it.

Fail closed: a scanner that dies (EOF on its pipe) or overruns the deadline is killed and
replaced in the background; the request gets `PhiScanError` / `PhiScanTimeoutError` (the
gateway answers 503) and no partial result is ever returned. Waiting for a free scanner counts
against the timeout.

Processes are started with ``spawn`` (safe in a threaded server) and load the engine (about
1-2 s); `ScannerPool` waits for all of them to be ready before it is used.
"""

from __future__ import annotations

import logging
import math
import multiprocessing as mp
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection

from agentyard.phi.errors import PhiScanError, PhiScanTimeoutError
from agentyard.phi.findings import Finding
from agentyard.phi.scan import HALVES, RawResult, merge_halves

log = logging.getLogger(__name__)

START_TIMEOUT = 180.0  # seconds for a scanner to load its engine
FULL = "full"  # a job's scan: whole texts, or one half of a split scan (`scan.HALVES`)
BATCH_TEXTS = 4  # texts of waiting requests one job takes at most (spaCy gains little beyond)
BATCH_CHARS = 8192  # ... and characters, beyond the first request's own


def _scanner_main(conn: Connection, threshold: float) -> None:
    """A scanner process: build the analyzer, say ready, then answer ``[text, ...]`` lists."""
    try:
        from agentyard.phi.engine import build_analyzer
        from agentyard.phi.scan import scan_half, scan_texts

        analyzer = build_analyzer()
    except BaseException as exc:  # reported to the parent, which fails closed
        conn.send(("error", type(exc).__name__))
        return
    conn.send(("ready", None))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if job is None:
            return
        half, texts = job
        try:
            if half == FULL:
                out = [
                    [(f.entity_type, f.start, f.end, f.score) for f in found]
                    for found in scan_texts(analyzer, texts, threshold)
                ]
            else:
                out = [scan_half(analyzer, t, threshold, half) for t in texts]
        except Exception as exc:  # the message names the exception type only, never text
            conn.send(("error", type(exc).__name__))
            continue
        conn.send(("ok", out))


class _Scanner:
    """One scanner process and the parent's end of its pipe."""

    def __init__(self, ctx: mp.context.SpawnContext, threshold: float) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_scanner_main,
            args=(child, threshold),
            name="phi-scanner",
            daemon=not mp.current_process().daemon,
        )
        self.process.start()
        child.close()

    def wait_ready(self, timeout: float) -> bool:
        try:
            if not self.conn.poll(timeout):
                return False
            status, _ = self.conn.recv()
        except (EOFError, OSError):
            return False
        return status == "ready"

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.join(5)
        except Exception:  # already gone
            pass
        self.conn.close()


@dataclass(eq=False)
class _Waiting:
    """A request's texts waiting for a scanner (see the module doc)."""

    texts: list[str]
    deadline: float
    results: list[list[Finding]] | None = None
    error: PhiScanError | None = None
    done: bool = False


class ScannerPool:
    """A fixed number of scanner processes with the guard's threshold."""

    def __init__(
        self, processes: int, threshold: float, start_timeout: float = START_TIMEOUT
    ) -> None:
        if processes < 1:
            raise ValueError("processes must be >= 1")
        self.processes = processes
        self.threshold = threshold
        self._ctx = mp.get_context("spawn")
        self._cond = threading.Condition()  # guards _free and _waiting
        self._free: list[_Scanner] = []
        self._waiting: list[_Waiting] = []
        self._all: set[_Scanner] = set()
        self._lock = threading.Lock()
        self._closed = False
        started = [_Scanner(self._ctx, threshold) for _ in range(processes)]
        self._all.update(started)
        deadline = time.monotonic() + start_timeout
        for s in started:
            if not s.wait_ready(max(0.0, deadline - time.monotonic())):
                self.close()
                raise PhiScanError("PHI scanner process did not start")
            self._give_back(s)

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        """Stop every scanner process."""
        self._closed = True
        with self._lock:
            scanners, self._all = list(self._all), set()
        for s in scanners:
            s.kill()

    def pids(self) -> list[int]:
        """Process ids of the live scanners (for tests and monitoring)."""
        with self._lock:
            return [s.process.pid for s in self._all if s.process.pid is not None]

    def idle(self) -> int:
        """How many scanners are free right now (for tests and monitoring)."""
        with self._cond:
            return len(self._free)

    def _give_back(self, scanner: _Scanner) -> None:
        """Make ``scanner`` free and wake the waiting requests."""
        with self._cond:
            self._free.append(scanner)
            self._cond.notify_all()

    def _take_free(self, most: int) -> tuple[list[_Scanner], list[_Scanner]]:
        """Up to ``most`` free live scanners, and the dead ones found (to retire). Called with
        ``_cond`` held."""
        taken: list[_Scanner] = []
        dead: list[_Scanner] = []
        while self._free and len(taken) < most:
            s = self._free.pop()
            (taken if s.process.is_alive() else dead).append(s)
        return taken, dead

    def _retire(self, scanner: _Scanner) -> None:
        """Kill ``scanner`` and start a replacement in the background."""
        with self._lock:
            self._all.discard(scanner)
        scanner.kill()
        if not self._closed:
            threading.Thread(target=self._replace, name="phi-scanner-start", daemon=True).start()

    def _replace(self) -> None:
        delay = 0.5
        while not self._closed:
            s = _Scanner(self._ctx, self.threshold)
            if s.wait_ready(START_TIMEOUT) and not self._closed:
                with self._lock:
                    self._all.add(s)
                self._give_back(s)
                return
            s.kill()
            log.error("PHI scanner process failed to start; retrying")
            time.sleep(delay)
            delay = min(delay * 2, 30.0)

    # -- scanning ---------------------------------------------------------------------------

    def scan(self, texts: Sequence[str], timeout: float) -> list[list[Finding]]:
        """Findings for each text, scanned on up to ``len(texts)`` scanners at once."""
        if timeout <= 0:
            raise PhiScanTimeoutError("PHI scan timeout must be positive")
        texts = list(texts)
        if not texts:
            return []
        deadline = time.monotonic() + timeout
        with self._cond:
            scanners: list[_Scanner] = []
            dead: list[_Scanner] = []
            if not self._waiting:  # else behind the requests already waiting
                scanners, dead = self._take_free(2 * len(texts))
            if not scanners:
                waiting = _Waiting(texts, deadline)
                self._waiting.append(waiting)
        for s in dead:
            self._retire(s)
        if not scanners:
            return self._scan_in_line(waiting, timeout)
        if len(scanners) >= 2 * len(texts):
            # Enough idle scanners: each text's NER and pattern halves run on two cores.
            jobs = [(half, [i]) for i in range(len(texts)) for half in HALVES]
        else:
            jobs = [(FULL, batch) for batch in _balance(texts, len(scanners))]
        for s in scanners[len(jobs) :]:
            self._give_back(s)
        return self._run(texts, jobs, scanners[: len(jobs)], deadline, timeout)

    def _scan_in_line(self, waiting: _Waiting, timeout: float) -> list[list[Finding]]:
        """Wait until a request ahead scanned ``waiting``'s texts with its own, or until a
        scanner is free: then scan them with those of the requests behind (one job)."""
        with self._cond:
            while True:
                if waiting.done:
                    break
                if waiting in self._waiting:
                    scanners, dead = self._take_free(1)
                    if scanners:
                        group = self._group(waiting)
                        break
                    if dead:  # retired outside the lock, then look again
                        self._cond.release()
                        try:
                            for s in dead:
                                self._retire(s)
                        finally:
                            self._cond.acquire()
                        continue
                remaining = waiting.deadline - time.monotonic()
                if remaining <= 0:
                    if waiting in self._waiting:
                        self._waiting.remove(waiting)
                        raise PhiScanTimeoutError("no PHI scanner free before the deadline")
                    raise PhiScanTimeoutError(f"PHI scan did not finish within {timeout:g} s")
                self._cond.wait(remaining)
        if not waiting.done:
            self._scan_group(group, scanners[0], timeout)
        if waiting.error is not None:
            raise type(waiting.error)(str(waiting.error))  # an exception per request
        if waiting.results is None:  # cannot happen: done without results or error
            raise PhiScanError("PHI scan incomplete")
        return waiting.results

    def _group(self, first: _Waiting) -> list[_Waiting]:
        """``first`` and the requests behind it that one job takes (its share of the waiting
        texts when other scanners are free too), out of the line. Called with ``_cond`` held."""
        pending = sum(len(w.texts) for w in self._waiting)
        share = min(BATCH_TEXTS, math.ceil(pending / (len(self._free) + 1)))
        group = [first]
        count, chars = len(first.texts), 0
        for w in self._waiting:
            if w is first:
                continue
            size = sum(len(t) for t in w.texts)
            if count + len(w.texts) > share or chars + size > BATCH_CHARS:
                break
            group.append(w)
            count += len(w.texts)
            chars += size
        for w in group:
            self._waiting.remove(w)
        return group

    def _scan_group(self, group: list[_Waiting], scanner: _Scanner, timeout: float) -> None:
        """One job of the texts of ``group`` on ``scanner``, until the deadline of the request
        running it (``group[0]``); each request gets its results."""
        texts = [t for w in group for t in w.texts]
        deadline = group[0].deadline
        found: list[list[Finding]] = []
        error: PhiScanError | None = PhiScanError("PHI scan failed")
        try:
            job = [(FULL, list(range(len(texts))))]
            found = self._run(texts, job, [scanner], deadline, timeout)
            error = None
        except PhiScanError as exc:
            error = exc
        finally:  # whatever happened, no request of the group is left waiting
            with self._cond:
                offset = 0
                for w in group:
                    if error is None:
                        w.results = found[offset : offset + len(w.texts)]
                    w.error = error
                    w.done = True
                    offset += len(w.texts)
                self._cond.notify_all()

    def _run(
        self,
        texts: list[str],
        jobs: list[tuple[str, list[int]]],
        scanners: list[_Scanner],
        deadline: float,
        timeout: float,
    ) -> list[list[Finding]]:
        """Send ``jobs`` (over ``texts``) to ``scanners``, one each; the findings per text."""
        sent: list[tuple[_Scanner, str, list[int]]] = []
        error: PhiScanError | None = None
        for s, (half, batch) in zip(scanners, jobs, strict=True):
            try:
                s.conn.send((half, [texts[i] for i in batch]))
                sent.append((s, half, batch))
            except (OSError, ValueError):
                error = error or PhiScanError("PHI scanner process died")
                self._retire(s)
        results: list[list[Finding] | None] = [None] * len(texts)
        halves: dict[int, list[list[RawResult]]] = {}
        for s, half, batch in sent:
            try:
                if not s.conn.poll(max(0.0, deadline - time.monotonic())):
                    error = error or PhiScanTimeoutError(
                        f"PHI scan did not finish within {timeout:g} s"
                    )
                    self._retire(s)
                    continue
                status, payload = s.conn.recv()
            except (EOFError, OSError):
                error = error or PhiScanError("PHI scanner process died")
                self._retire(s)
                continue
            self._give_back(s)
            if status != "ok":
                error = error or PhiScanError(f"PHI scan failed: {payload}")
                continue
            for i, found in zip(batch, payload, strict=True):
                if half == FULL:
                    results[i] = [Finding(*f) for f in found]
                else:
                    halves.setdefault(i, []).append([tuple(r) for r in found])
        if error is not None:
            raise error
        for i, parts in halves.items():
            if len(parts) != len(HALVES):  # cannot happen without an error above
                raise PhiScanError("PHI scan incomplete")
            results[i] = merge_halves(texts[i], parts)
        if any(r is None for r in results):
            raise PhiScanError("PHI scan incomplete")
        return results  # type: ignore[return-value]


def _balance(texts: list[str], n: int) -> list[list[int]]:
    """Text indices in ``n`` batches of about equal total length (longest first)."""
    batches: list[list[int]] = [[] for _ in range(n)]
    loads = [0] * n
    for i in sorted(range(len(texts)), key=lambda i: -len(texts[i])):
        k = loads.index(min(loads))
        batches[k].append(i)
        loads[k] += len(texts[i])
    return [b for b in batches if b] or [[]]
