"""core/ratelimit: the one path every surface counts requests through."""

from __future__ import annotations

import gc
import os
import uuid
from unittest import mock

import pytest

from agentyard.core.errors import ApiError
from agentyard.core.ratelimit import RateLimiter, Window


def test_enforce_counts_and_answers_429_with_retry_after():
    limiter = RateLimiter()
    assert limiter.enforce(2, "s", "k") == {}
    assert limiter.enforce(2, "s", "k") == {}
    with pytest.raises(ApiError) as err:
        limiter.enforce(2, "s", "k")
    seconds = int(err.value.headers["Retry-After"])
    assert 1 <= seconds <= 60
    assert (err.value.status, err.value.code, err.value.details) == (429, "rate_limited", None)
    assert err.value.message == (
        f"Rate limit of 2 requests per minute exceeded; retry in {seconds} s"
    )
    assert limiter.enforce(2, "s", "other") == {}  # counted per identifiers


def test_a_surface_adds_its_headers_code_and_details():
    limiter = RateLimiter()

    def headers(window: Window) -> dict[str, str]:
        return {"X-Limit": str(window.per_minute), "X-Remaining": str(window.remaining)}

    assert limiter.enforce(1, "k", headers=headers) == {"X-Limit": "1", "X-Remaining": "0"}
    with pytest.raises(ApiError) as err:
        limiter.enforce(1, "k", code="RATE_LIMITED", headers=headers, retry_details=True)
    seconds = err.value.details["retry_after_seconds"]
    assert err.value.code == "RATE_LIMITED"
    assert list(err.value.headers) == ["X-Limit", "X-Remaining", "Retry-After"]
    assert err.value.headers["Retry-After"] == str(seconds)


def test_retry_after_is_at_least_one_second():
    assert Window(1, False, 0, 0.0).retry_after == 1
    assert Window(1, False, 0, 1.2).retry_after == 2


def test_counting_keeps_no_object_per_request():
    limiter = RateLimiter()
    limiter.enforce(100_000, "s", "k")
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(2000):
        limiter.enforce(100_000, "s", "k")
    gc.collect()
    assert len(gc.get_objects()) - before < 200  # two counters per key, not one per request


def test_the_previous_minute_still_counts_in_part():
    limiter = RateLimiter()
    minute = 1_000_020.0  # a multiple of 60: a minute starts
    with mock.patch("time.time", return_value=minute + 20):
        for _ in range(10):
            limiter.enforce(10, "s", "k")
        assert not limiter.count(10, "s", "k").allowed
    with mock.patch("time.time", return_value=minute + 70):  # 10 s into the next minute
        # 50 of the previous minute's 60 s are still in the window: 10 * 50/60 = 8.3 counted
        assert [limiter.count(10, "s", "k").allowed for _ in range(3)] == [True, True, False]


def test_an_allowed_request_without_headers_does_not_read_the_window_back(monkeypatch):
    limiter = RateLimiter()
    looks: list[str] = []
    stats = limiter.strategy.get_window_stats
    monkeypatch.setattr(
        limiter.strategy, "get_window_stats", lambda *a: looks.append("stats") or stats(*a)
    )
    assert limiter.enforce(2, "s", "k") == {}  # allowed, nothing to report: one hit only
    assert looks == []
    assert limiter.enforce(2, "s", "k", headers=lambda w: {"X-Remaining": str(w.remaining)}) == {
        "X-Remaining": "0"
    }
    with pytest.raises(ApiError) as err:  # refused: the window says when to retry
        limiter.enforce(2, "s", "k")
    assert looks == ["stats", "stats"] and int(err.value.headers["Retry-After"]) >= 1


REDIS_URL = os.environ.get("AGENTYARD_TEST_REDIS_URL")


def _fresh() -> str:
    """An identifier no other run has counted under (Redis keys outlive a test by minutes)."""
    return f"test-{uuid.uuid4().hex}"


def _evalsha_counter(limiter: RateLimiter, sent: list[object]):
    """Record the command name of every Redis call the limiter makes into `sent`."""
    connection = limiter.storage.get_connection()
    execute = connection.execute_command
    return mock.patch.object(
        connection, "execute_command", lambda *a, **k: sent.append(a[0]) or execute(*a, **k)
    )


@pytest.mark.skipif(not REDIS_URL, reason="no Redis")
def test_on_redis_a_request_is_one_round_trip_and_windows_match_a_hit_then_a_read():
    """On Redis the hit and the window read back are one script, headers or not, allowed or
    refused; the windows it reports are the ones `hit` then `get_window_stats` report."""
    limiter = RateLimiter(REDIS_URL)
    s = _fresh()  # keys of this run only: a reset would clear other tests' counters too
    sent: list[object] = []
    with _evalsha_counter(limiter, sent):
        one = limiter.enforce(1, s, "one", headers=lambda w: {"r": str(w.remaining)})
        assert one == {"r": "0"} and sent == ["EVALSHA"]
        assert limiter.enforce(1, s, "two") == {} and len(sent) == 2
        with pytest.raises(ApiError) as err:
            limiter.enforce(1, s, "two")
        assert int(err.value.headers["Retry-After"]) >= 1 and len(sent) == 3

    def headers(window: Window) -> dict[str, str]:
        return {"allowed": str(window.allowed), "remaining": str(window.remaining)}

    def refused(call) -> dict[str, str]:
        try:
            return call()
        except ApiError as err:
            return {**err.headers, "retry": str(err.headers["Retry-After"])}

    two_calls = RateLimiter(REDIS_URL)
    two_calls._hit_and_read = None  # the path of an in-memory limiter: hit, then read
    combined, separate = [], []
    for _ in range(5):
        combined.append(refused(lambda: limiter.enforce(4, s, "a", headers=headers)))
        separate.append(refused(lambda: two_calls.enforce(4, s, "b", headers=headers)))
    assert combined == separate
    assert [c["remaining"] for c in combined] == ["3", "2", "1", "0", "0"]
    assert "retry" in combined[-1] and "retry" not in combined[-2]


@pytest.mark.skipif(not REDIS_URL, reason="no Redis")
def test_on_redis_a_busy_key_is_counted_in_leases_and_workers_never_pass_the_limit(monkeypatch):
    """Two workers (limiters) sharing one key: far fewer round trips than requests, each
    worker's remaining goes down one by one, and together they admit exactly the limit."""
    import agentyard.core.ratelimit as ratelimit

    monkeypatch.setattr(ratelimit, "LEASE_SECONDS", 60.0)  # no lease lapses on a slow machine
    one, two = RateLimiter(REDIS_URL), RateLimiter(REDIS_URL)
    s = _fresh()
    sent: list[object] = []

    def remaining(window: Window) -> dict[str, str]:
        return {"remaining": str(window.remaining)}

    with _evalsha_counter(one, sent), _evalsha_counter(two, sent):
        seen = [int(one.enforce(3000, s, "busy", headers=remaining)["remaining"])]
        seen += [int(one.enforce(3000, s, "busy", headers=remaining)["remaining"])]
        seen += [int(one.enforce(3000, s, "busy", headers=remaining)["remaining"])]
        assert seen == [2999, 2998, 2997]
        for _ in range(600):
            one.enforce(3000, s, "busy")
            two.enforce(3000, s, "busy")
        assert len(sent) < 100  # 1203 requests
        allowed = 1203
        refused = set()
        while len(refused) < 2:
            for limiter in (one, two):
                try:
                    limiter.enforce(3000, s, "busy")
                    allowed += 1
                except ApiError as err:
                    assert err.status == 429
                    refused.add(id(limiter))
        assert allowed == 3000


@pytest.mark.skipif(not REDIS_URL, reason="no Redis")
def test_on_redis_a_key_near_its_limit_or_served_rarely_is_counted_one_by_one(monkeypatch):
    import agentyard.core.ratelimit as ratelimit

    limiter = RateLimiter(REDIS_URL)
    s = _fresh()
    sent: list[object] = []
    with _evalsha_counter(limiter, sent):
        for _ in range(20):  # room under 2 x LEASE_SHARE: the script counts one at a time
            limiter.enforce(20, s, "near")
        assert len(sent) == 20
        with pytest.raises(ApiError):
            limiter.enforce(20, s, "near")
        monkeypatch.setattr(ratelimit, "LEASE_SECONDS", 0.0)  # every lease lapses at once
        sent.clear()
        left = [
            limiter.enforce(1000, s, "rare", headers=lambda w: {"r": str(w.remaining)})["r"]
            for _ in range(30)
        ]
        assert len(sent) == 30
        assert left == [str(n) for n in range(999, 969, -1)]


@pytest.mark.skipif(not REDIS_URL, reason="no Redis")
def test_on_redis_threads_of_two_workers_together_admit_exactly_the_limit(monkeypatch):
    import threading

    import agentyard.core.ratelimit as ratelimit

    monkeypatch.setattr(ratelimit, "LEASE_SECONDS", 60.0)
    workers = [RateLimiter(REDIS_URL), RateLimiter(REDIS_URL)]
    s = _fresh()
    allowed = [0] * 8

    def hammer(n: int) -> None:
        while True:
            try:
                workers[n % 2].enforce(2500, s, "threads")
            except ApiError:
                return
            allowed[n] += 1

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 2500
