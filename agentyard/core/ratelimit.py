"""Rate limits with the `limits` library: in memory by default, on Redis with `REDIS_URL`.

One path for every surface: `RateLimiter.enforce(per_minute, *identifiers)` counts one request
in a sliding one-minute window and raises 429 with `Retry-After` once the window is full. A
surface that documents rate-limit headers passes `headers` (made from the `Window`); they are
returned to go on the response, and sent on the 429 too. `code` and `retry_details` give the
429 the surface's documented code and body. On Redis, counting and reading the window back is
one script, so one round trip per request whether or not the surface reports the window.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.storage import RedisStorage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from agentyard.core.errors import DEFAULT_CODES, ApiError

# limits' acquire_sliding_window.lua (5.8), returning the window as sliding_window.lua reads it
# after the attempt: {acquired, previous count, previous ttl ms, current count, current ttl ms}.
_HIT_AND_READ = """
local limit = tonumber(ARGV[1])
local expiry = tonumber(ARGV[2]) * 1000
local amount = tonumber(ARGV[3])
local current_ttl = tonumber(redis.call('pttl', KEYS[2]))
if current_ttl > 0 and current_ttl < expiry then
    redis.call('rename', KEYS[2], KEYS[1])
    redis.call('set', KEYS[2], 0, 'PX', current_ttl + expiry)
end
local previous_count = tonumber(redis.call('get', KEYS[1])) or 0
local previous_ttl = math.max(tonumber(redis.call('pttl', KEYS[1])) or 0, 0)
local current_count = tonumber(redis.call('get', KEYS[2])) or 0
current_ttl = math.max(tonumber(redis.call('pttl', KEYS[2])) or 0, 0)
local weighted = math.floor(previous_count * previous_ttl / expiry) + current_count
if amount > limit or weighted + amount > limit then
    return {0, previous_count, previous_ttl, current_count, current_ttl}
end
if redis.call('exists', KEYS[2]) == 1 then
    current_count = redis.call('incrby', KEYS[2], amount)
else
    redis.call('set', KEYS[2], amount, 'PX', expiry * 2)
    current_count = amount
end
current_ttl = math.max(tonumber(redis.call('pttl', KEYS[2])) or 0, 0)
return {1, previous_count, previous_ttl, current_count, current_ttl}
"""


def _stats(
    item: RateLimitItemPerMinute,
    previous: int,
    previous_ttl: float,
    current: int,
    current_ttl: float,
) -> tuple[float, int]:
    """limits' `SlidingWindowCounterRateLimiter.get_window_stats` (5.8) on a window already
    read: (when a request is next allowed, epoch seconds; requests remaining)."""
    expiry = item.get_expiry()
    remaining = max(0, item.amount - math.floor(previous * previous_ttl / expiry + current))
    now = time.time()
    if not (previous or current):
        return now, remaining
    previous_reset = previous_ttl % (expiry / previous) if previous else math.inf
    current_reset = current_ttl % expiry if current else math.inf
    return now + min(previous_reset, current_reset), remaining


@dataclass(frozen=True)
class Window:
    """One counted request: the limit, whether it was allowed, and what is left of the window."""

    per_minute: int
    allowed: bool
    remaining: int
    reset: float  # seconds until the window resets

    @property
    def retry_after(self) -> int:
        """Whole seconds (at least 1) until a request is allowed again."""
        return max(1, math.ceil(self.reset))


class RateLimiter:
    """Sliding-window limits keyed by arbitrary identifiers (surface, key id, read/write).

    The window is the `limits` sliding window counter: this minute's count plus the previous
    minute's, weighted by the share of it still inside the last 60 seconds. Two counters per
    key, where a moving window keeps one timestamped object per request for a minute (in
    memory: ~60k objects at 1000 requests/s, each one walked by every full garbage
    collection, which stopped all requests in flight for tens of milliseconds)."""

    def __init__(self, redis_url: str | None = None) -> None:
        self.storage = storage_from_string(redis_url or "memory://")
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        self._hit_and_read = (
            self.storage.get_connection().register_script(_HIT_AND_READ.encode())
            if isinstance(self.storage, RedisStorage)
            else None
        )

    def count(self, per_minute: int, *identifiers: str) -> Window:
        """Count one request against `identifiers` and report the window."""
        item = RateLimitItemPerMinute(per_minute)
        return self._window(item, self.strategy.hit(item, *identifiers), identifiers)

    def _window(
        self, item: RateLimitItemPerMinute, allowed: bool, identifiers: tuple[str, ...]
    ) -> Window:
        reset_at, remaining = self.strategy.get_window_stats(item, *identifiers)
        return Window(item.amount, allowed, max(0, remaining), max(0.0, reset_at - time.time()))

    def _counted_and_read(
        self, item: RateLimitItemPerMinute, identifiers: tuple[str, ...]
    ) -> Window:
        """Count one request and read the window back in one Redis script (`_HIT_AND_READ`),
        where `hit` then `get_window_stats` take two round trips: the same figures."""
        storage = self.storage
        assert isinstance(storage, RedisStorage) and self._hit_and_read is not None
        key = item.key_for(*identifiers)
        keys = [
            storage.prefixed_key(storage._previous_window_key(key)),
            storage.prefixed_key(storage._current_window_key(key)),
        ]
        allowed, *read = self._hit_and_read(keys, [item.amount, item.get_expiry(), 1])
        reset_at, remaining = _stats(
            item, int(read[0]), float(read[1]) / 1000, int(read[2]), float(read[3]) / 1000
        )
        return Window(item.amount, bool(allowed), remaining, max(0.0, reset_at - time.time()))

    def enforce(
        self,
        per_minute: int,
        *identifiers: str,
        code: str = DEFAULT_CODES[429],
        headers: Callable[[Window], dict[str, str]] | None = None,
        retry_details: bool = False,
    ) -> dict[str, str]:
        """Count one request; the response headers `headers` makes (none by default), or 429
        `code` with those headers plus `Retry-After` (and `details.retry_after_seconds` when
        `retry_details`) once the limit is exceeded."""
        item = RateLimitItemPerMinute(per_minute)
        if self._hit_and_read is not None:
            window = self._counted_and_read(item, identifiers)  # one Redis round trip, always
        else:
            allowed = self.strategy.hit(item, *identifiers)
            if allowed and headers is None:
                return {}  # nothing to report: no second look at the window
            window = self._window(item, allowed, identifiers)
        extra = headers(window) if headers else {}
        if window.allowed:
            return extra
        seconds = window.retry_after
        raise ApiError(
            429,
            code,
            f"Rate limit of {per_minute} requests per minute exceeded; retry in {seconds} s",
            details={"retry_after_seconds": seconds} if retry_details else None,
            headers={**extra, "Retry-After": str(seconds)},
        )

    def reset(self) -> None:
        """Forget every counter (tests, `keys revoke`)."""
        self.storage.reset()
