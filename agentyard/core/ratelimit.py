"""Rate limits with the `limits` library: in memory by default, on Redis with `REDIS_URL`.

One path for every surface: `RateLimiter.enforce(per_minute, *identifiers)` counts one request
in a sliding one-minute window and raises 429 with `Retry-After` once the window is full. A
surface that documents rate-limit headers passes `headers` (made from the `Window`); they are
returned to go on the response, and sent on the 429 too. `code` and `retry_details` give the
429 the surface's documented code and body.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from agentyard.core.errors import DEFAULT_CODES, ApiError


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

    def count(self, per_minute: int, *identifiers: str) -> Window:
        """Count one request against `identifiers` and report the window."""
        item = RateLimitItemPerMinute(per_minute)
        return self._window(item, self.strategy.hit(item, *identifiers), identifiers)

    def _window(
        self, item: RateLimitItemPerMinute, allowed: bool, identifiers: tuple[str, ...]
    ) -> Window:
        reset_at, remaining = self.strategy.get_window_stats(item, *identifiers)
        return Window(item.amount, allowed, max(0, remaining), max(0.0, reset_at - time.time()))

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
        allowed = self.strategy.hit(item, *identifiers)
        if allowed and headers is None:
            return {}  # nothing to report: no second look at the window (a Redis round trip)
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
