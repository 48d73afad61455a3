"""core/ratelimit: the one path every surface counts requests through."""

from __future__ import annotations

import gc
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
