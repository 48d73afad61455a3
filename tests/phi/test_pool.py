"""Scanner processes: same findings as in-process, requests spread over them, fail closed."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

import pytest

from agentyard.phi.errors import PhiScanError, PhiScanTimeoutError

TEXTS = [
    "Pt Jamal Washington, MRN 7734102, seen 9/27/23. Call 614-555-0199.",
    "Keisha Brown (SSN 412-67-3390) lives at 77 Orchard Lane, Ithaca, NY 14850.",
    "Email maria.delgado84@examplemail.com from IP 192.168.14.77.",
    "",
]


def wait_for_scanners(g, n: int, timeout: float = 120) -> None:
    """Wait until the guard's pool has ``n`` live scanners, all free."""
    deadline = time.monotonic() + timeout
    while len(g.pool.pids()) < n or g.pool.idle() < n:
        assert time.monotonic() < deadline, "scanners were not replaced"
        time.sleep(0.1)


def test_pool_finds_what_the_in_process_guard_finds(guard, pool_guard):
    assert pool_guard.analyze_many(TEXTS, timeout=60) == guard.analyze_many(TEXTS, timeout=60)
    red = pool_guard.redact(TEXTS[:2], timeout=60)
    assert red.texts == guard.redact(TEXTS[:2], timeout=60).texts


def test_pool_timeout_fails_closed_and_replaces_the_scanner(pool_guard):
    wait_for_scanners(pool_guard, 2)
    before = set(pool_guard.pool.pids())
    with pytest.raises(PhiScanTimeoutError):
        pool_guard.analyze("Patient Maria Delgado seen on 03/14/2023 " * 40, timeout=0.001)
    wait_for_scanners(pool_guard, 2)
    assert set(pool_guard.pool.pids()) != before  # the overrunning scanner was killed
    assert pool_guard.analyze("Dr. Anil Raman", timeout=60)


def test_pool_dead_scanner_fails_closed(pool_guard, monkeypatch):
    wait_for_scanners(pool_guard, 2)
    for pid in pool_guard.pool.pids():
        os.kill(pid, signal.SIGKILL)  # scanner processes this test session started
    # Hand out the dead scanners as if they had died mid-scan.
    monkeypatch.setattr("multiprocessing.process.BaseProcess.is_alive", lambda self: True)
    with pytest.raises(PhiScanError) as err:
        pool_guard.analyze_many(["Patient Maria Delgado", "MRN 00482913"], timeout=30)
    assert "Maria" not in str(err.value)
    monkeypatch.undo()
    wait_for_scanners(pool_guard, 2)
    assert pool_guard.contains_phi("Patient Maria Delgado", timeout=60) == ["PERSON"]


@contextlib.contextmanager
def all_scanners_busy(g):
    """Hold every scanner of the guard's pool (as if scanning); those still held when the block ends
    are given back (a test gives one back early by taking it out of the list)."""
    wait_for_scanners(g, 2)
    pool = g.pool
    with pool._cond:
        scanners, dead = pool._take_free(2)
    assert len(scanners) == 2 and not dead
    try:
        yield scanners
    finally:
        for s in scanners:
            if s.process.is_alive():
                pool._give_back(s)


def test_pool_waits_for_a_free_scanner_within_the_timeout(pool_guard):
    with all_scanners_busy(pool_guard):
        with pytest.raises(PhiScanTimeoutError):
            pool_guard.analyze("Dr. Anil Raman", timeout=0.2)
        assert pool_guard.pool._waiting == []  # out of the line at its deadline


def _in_line(pool, texts: list[str], timeout: float = 60):
    """Scan each text in its own thread while every scanner is busy; wait until all of them
    are in line. Returns (threads, outcomes by text)."""
    outcomes: dict[str, object] = {}

    def scan(text: str) -> None:
        try:
            outcomes[text] = pool.scan([text], timeout)[0]
        except Exception as exc:  # recorded for the test to look at
            outcomes[text] = exc

    threads = [threading.Thread(target=scan, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while sum(len(w.texts) for w in pool._waiting) < len(texts):
        assert time.monotonic() < deadline, f"requests did not queue: {outcomes}"
        time.sleep(0.01)
    return threads, outcomes


def test_requests_waiting_for_a_scanner_are_scanned_as_one_job(guard, pool_guard, monkeypatch):
    pool = pool_guard.pool
    jobs: list[int] = []
    run = pool._run

    def counted(texts, *args):
        jobs.append(len(texts))
        return run(texts, *args)

    monkeypatch.setattr(pool, "_run", counted)
    texts = TEXTS[:3]
    with all_scanners_busy(pool_guard) as held:
        threads, outcomes = _in_line(pool, texts)
        pool._give_back(held.pop())  # one scanner frees up: it takes the three requests at once
        for t in threads:
            t.join(60)
    assert jobs == [3]
    for text in texts:  # each request got its own text's findings, as scanned alone
        assert outcomes[text] == guard.analyze(text, timeout=60), text


def test_a_failed_job_fails_every_request_in_it(pool_guard, monkeypatch):
    pool = pool_guard.pool
    with all_scanners_busy(pool_guard) as held:
        threads, outcomes = _in_line(pool, TEXTS[:2])
        first = held.pop()
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.join(10)
        # handed out as if it died mid-scan
        monkeypatch.setattr("multiprocessing.process.BaseProcess.is_alive", lambda self: True)
        pool._give_back(first)
        for t in threads:
            t.join(60)
        monkeypatch.undo()
    assert all(isinstance(outcomes[t], PhiScanError) for t in TEXTS[:2]), outcomes
    assert all("Maria" not in str(outcomes[t]) for t in TEXTS[:2])
    wait_for_scanners(pool_guard, 2)
    assert pool_guard.contains_phi("Patient Maria Delgado", timeout=60) == ["PERSON"]


def test_split_scan_halves_merge_to_the_full_scan(guard):
    from agentyard.phi.scan import HALVES, merge_halves, scan_half, scan_text
    from tests.phi.corpus import load

    analyzer = guard.analyzer
    for sample in load()[::3]:
        text = sample.text
        halves = [scan_half(analyzer, text, guard.threshold, h) for h in HALVES]
        assert merge_halves(text, halves) == scan_text(analyzer, text, guard.threshold), text


def test_a_batch_of_texts_finds_what_each_text_alone_finds(guard):
    from agentyard.phi.scan import scan_text, scan_texts
    from tests.phi.corpus import load

    analyzer = guard.analyzer
    texts = [sample.text for sample in load()[1::4]] + ["", "  "]
    for i in range(0, len(texts), 5):
        batch = texts[i : i + 5]
        alone = [scan_text(analyzer, t, guard.threshold) for t in batch]
        assert scan_texts(analyzer, batch, guard.threshold) == alone, batch


def test_pool_single_text_is_split_over_two_scanners(guard, pool_guard):
    wait_for_scanners(pool_guard, 2)
    for text in TEXTS[:3]:
        assert pool_guard.analyze(text, timeout=60) == guard.analyze(text, timeout=60)
