"""core.tally: counts summed in memory, written in batches, never lost on a failed write."""

from __future__ import annotations

import pytest

from agentyard.core import tally


@pytest.fixture
def written(app):  # a configured store: flush() opens a connection
    return []


def test_many_adds_are_one_write_of_their_sums(written):
    counts = tally.Tally(lambda sums: written.append(dict(sums)), fields=2, interval=3600)
    for _ in range(50):
        counts.add(("k1", "day"), 1, 0)
    counts.add(("k2", "day"), 0, 3)
    counts.add(("k1", "day"), 0, 1)
    assert written == []  # nothing written per event
    counts.flush()
    assert written == [{("k1", "day"): [50, 1], ("k2", "day"): [0, 3]}]
    counts.flush()  # nothing new: no write
    assert len(written) == 1


def test_a_failed_write_keeps_the_sums_for_the_next(written):
    fail = [True]

    def write(sums):
        if fail[0]:
            raise RuntimeError("store down")
        written.append(dict(sums))

    counts = tally.Tally(write, fields=1, interval=3600)
    counts.add("k", 2)
    counts.flush()  # fails, logged, kept
    counts.add("k", 3)
    fail[0] = False
    tally.flush_all()
    assert written == [{"k": [5]}]


def test_the_writer_thread_flushes_without_a_reader(written):
    import time

    counts = tally.Tally(lambda sums: written.append(dict(sums)), fields=1, interval=0.05)
    counts.add("k", 1)
    deadline = time.monotonic() + 10
    while not written and time.monotonic() < deadline:
        time.sleep(0.01)
    assert written == [{"k": [1]}]


def test_sums_the_old_store_refused_never_reach_the_next(written):
    def refuse(sums):
        raise RuntimeError("store dropped")

    counts = tally.Tally(refuse, fields=1, interval=3600)
    counts.add("k", 4)
    tally.settle_all()  # as runtime.configure does before opening another store
    counts.write = lambda sums: written.append(dict(sums))
    counts.flush()
    assert written == []
