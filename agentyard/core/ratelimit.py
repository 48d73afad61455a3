"""Rate limits with the `limits` library: in memory by default, on Redis with `REDIS_URL`.

One path for every surface: `RateLimiter.enforce(per_minute, *identifiers)` counts one request
in a sliding one-minute window and raises 429 with `Retry-After` once the window is full. A
surface that documents rate-limit headers passes `headers` (made from the `Window`); they are
returned to go on the response, and sent on the 429 too. `code` and `retry_details` give the
429 the surface's documented code and body. On Redis, counting and reading the window back is
one script. A process serving one key many times a second takes its requests from Redis in
small leases (`_Lease`): the script counts several at once and the process hands them out
without a round trip each, so several workers never admit more than the limit together.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.storage import RedisStorage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from agentyard.core.errors import DEFAULT_CODES, ApiError

# limits' acquire_sliding_window.lua (5.8), counting up to ARGV[3] requests at once (never more
# than 1/ARGV[4] of the room left, and at least one while there is room), returning the window
# as sliding_window.lua reads it after the attempt:
# {requests counted (0: refused), previous count, previous ttl ms, current count, current ttl ms}.
_HIT_AND_READ = """
local limit = tonumber(ARGV[1])
local expiry = tonumber(ARGV[2]) * 1000
local wanted = tonumber(ARGV[3])
local share = tonumber(ARGV[4])
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
local room = limit - weighted
if room < 1 then
    return {0, previous_count, previous_ttl, current_count, current_ttl}
end
local amount = math.min(wanted, math.max(1, math.floor(room / share)))
if redis.call('exists', KEYS[2]) == 1 then
    current_count = redis.call('incrby', KEYS[2], amount)
else
    redis.call('set', KEYS[2], amount, 'PX', expiry * 2)
    current_count = amount
end
current_ttl = math.max(tonumber(redis.call('pttl', KEYS[2])) or 0, 0)
return {amount, previous_count, previous_ttl, current_count, current_ttl}
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


# A lease (Redis only) is at most LEASE_MAX requests and 1/LEASE_SHARE of the room left in the
# window, and lapses after LEASE_SECONDS. Its size follows the key's pace in this process: it
# doubles when a lease is used up in time and shrinks to what was used when one lapses, so a
# key served now and then, or close to its limit, still costs one round trip per request.
LEASE_MAX = 64
LEASE_SHARE = 16
LEASE_SECONDS = 0.5
_LEASES_KEPT = 4096  # keys with a lease before lapsed ones are dropped


@dataclass
class _Lease:
    """Requests of one key counted in Redis ahead of use, handed out by this process. The
    window it reports is the one read when it was counted, plus the requests not handed out."""

    size: int  # counted by the script
    left: int  # not handed out yet
    remaining: int  # the window's remaining once the script had counted them
    reset_at: float  # epoch seconds
    expires: float  # monotonic seconds

    def take(self, now: float) -> bool:
        if self.left > 0 and now < self.expires:
            self.left -= 1
            return True
        return False

    def next_size(self, now: float) -> int:
        """The size to ask for next (the script may count fewer)."""
        if self.left == 0:  # used up: twice as many if that took less than its time
            return min(LEASE_MAX, self.size * 2 if now < self.expires else self.size)
        return max(1, self.size - self.left)  # lapsed: what was used

    def window(self, per_minute: int) -> Window:
        reset = max(0.0, self.reset_at - time.time())
        return Window(per_minute, True, self.remaining + self.left, reset)


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
        self._leases: dict[str, _Lease] = {}
        self._lease_lock = threading.Lock()

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
        self, item: RateLimitItemPerMinute, key: str, wanted: int
    ) -> tuple[int, Window]:
        """Count up to `wanted` requests and read the window back in one Redis script
        (`_HIT_AND_READ`): how many it counted (0: refused) and the window after them, as
        `hit` then `get_window_stats` would report it."""
        storage = self.storage
        assert isinstance(storage, RedisStorage) and self._hit_and_read is not None
        keys = [
            storage.prefixed_key(storage._previous_window_key(key)),
            storage.prefixed_key(storage._current_window_key(key)),
        ]
        args = [item.amount, item.get_expiry(), wanted, LEASE_SHARE]
        counted, *read = self._hit_and_read(keys, args)
        reset_at, remaining = _stats(
            item, int(read[0]), float(read[1]) / 1000, int(read[2]), float(read[3]) / 1000
        )
        window = Window(item.amount, counted > 0, remaining, max(0.0, reset_at - time.time()))
        return int(counted), window

    def _leased(self, item: RateLimitItemPerMinute, identifiers: tuple[str, ...]) -> Window:
        """Count one request on Redis: from this process's lease of the key when it has one,
        else with one script call that counts it (and a new lease, when the key is busy)."""
        key = item.key_for(*identifiers)
        now = time.monotonic()
        with self._lease_lock:
            lease = self._leases.get(key)
            if lease is not None and lease.take(now):
                return lease.window(item.amount)
            wanted = lease.next_size(now) if lease is not None else 1
        counted, window = self._counted_and_read(item, key, wanted)
        if not counted:
            return window
        fresh = _Lease(
            counted, counted - 1, window.remaining, time.time() + window.reset, now + LEASE_SECONDS
        )
        with self._lease_lock:
            other = self._leases.get(key)  # another thread's, counted meanwhile: kept in this one
            if other is not None and other is not lease and other.left and now < other.expires:
                fresh.size += other.left
                fresh.left += other.left
            if len(self._leases) >= _LEASES_KEPT:
                self._leases = {k: v for k, v in self._leases.items() if now < v.expires}
            self._leases[key] = fresh
        return fresh.window(item.amount)

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
            window = self._leased(item, identifiers)  # at most one Redis round trip
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
        with self._lease_lock:
            self._leases.clear()
        self.storage.reset()
