"""Rate limits with the `limits` library: in memory by default, on Redis with `REDIS_URL`."""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from agentyard.core.errors import ApiError


class RateLimiter:
    """Moving-window limits keyed by arbitrary identifiers (surface, key id, read/write)."""

    def __init__(self, redis_url: str | None = None) -> None:
        self.storage = storage_from_string(redis_url or "memory://")
        self.strategy = MovingWindowRateLimiter(self.storage)

    def hit(self, per_minute: int, *identifiers: str) -> float | None:
        """Count one request; None when allowed, else seconds until one is allowed again."""
        item = RateLimitItemPerMinute(per_minute)
        if self.strategy.hit(item, *identifiers):
            return None
        reset_at, _remaining = self.strategy.get_window_stats(item, *identifiers)
        return max(1.0, reset_at - time.time())

    def window(self, per_minute: int, *identifiers: str) -> tuple[bool, int, float]:
        """Count one request: (allowed, requests remaining, seconds until the window resets)."""
        item = RateLimitItemPerMinute(per_minute)
        allowed = self.strategy.hit(item, *identifiers)
        reset_at, remaining = self.strategy.get_window_stats(item, *identifiers)
        return allowed, max(0, remaining), max(0.0, reset_at - time.time())

    def enforce(self, per_minute: int, *identifiers: str) -> None:
        """Raise 429 with Retry-After when the limit is exceeded."""
        retry_after = self.hit(per_minute, *identifiers)
        if retry_after is not None:
            seconds = math.ceil(retry_after)
            raise ApiError(
                429,
                "rate_limited",
                f"Rate limit of {per_minute} requests per minute exceeded; retry in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )

    def reset(self) -> None:
        """Forget every counter (tests, `keys revoke`)."""
        self.storage.reset()
