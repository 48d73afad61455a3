"""When and how long to wait before trying an upstream again."""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 529})


def is_retryable_status(status: int) -> bool:
    """429, 408 and every 5xx (529 included) are worth another attempt."""
    return status in RETRYABLE_STATUSES or 500 <= status <= 599


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date), else None."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, honouring the upstream's `retry-after`.

    Attempt n (0-based) waits `min(max_delay, initial_delay * 2**n)` shrunk by up to `jitter`
    (a fraction), unless the upstream asked for a wait: then exactly that. A requested wait
    longer than `max_retry_after` is not worth holding the caller for: we give up instead.
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 60.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before retry number `attempt + 1`, or None to stop retrying."""
        if attempt >= self.max_retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        base = min(self.max_delay, self.initial_delay * (2**attempt))
        return base * (1 - self.jitter * random.random())
