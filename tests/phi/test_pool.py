"""Scanner processes: same findings as in-process, requests spread over them, fail closed."""

from __future__ import annotations

import os
import signal
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
    deadline = time.monotonic() + timeout
    while len(g.pool.pids()) < n or g.pool._idle.qsize() < n:
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


def test_pool_waits_for_a_free_scanner_within_the_timeout(pool_guard):
    scanners = [pool_guard.pool._idle.get(timeout=60) for _ in range(2)]  # all busy
    try:
        with pytest.raises(PhiScanTimeoutError):
            pool_guard.analyze("Dr. Anil Raman", timeout=0.2)
    finally:
        for s in scanners:
            pool_guard.pool._idle.put(s)


def test_split_scan_halves_merge_to_the_full_scan(guard):
    from agentyard.phi.scan import HALVES, merge_halves, scan_half, scan_text
    from tests.phi.corpus import load

    analyzer = guard.analyzer
    for sample in load()[::3]:
        text = sample.text
        halves = [scan_half(analyzer, text, guard.threshold, h) for h in HALVES]
        assert merge_halves(text, halves) == scan_text(analyzer, text, guard.threshold), text


def test_pool_single_text_is_split_over_two_scanners(guard, pool_guard):
    wait_for_scanners(pool_guard, 2)
    for text in TEXTS[:3]:
        assert pool_guard.analyze(text, timeout=60) == guard.analyze(text, timeout=60)
