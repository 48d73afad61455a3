"""Wait for a pub/sub event until a deadline, without holding a thread.

Always subscribe BEFORE looking at the state the event announces: an event that lands between
the look and the wait is then queued, not lost. `watch()` is the primitive (a subscription
with a deadline); `wait_until()` is the common loop "look; while not ready, wait for a
notification, look again" that long-polls use.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from agentyard.core import runtime
from agentyard.core.pubsub import Broker, Subscription

T = TypeVar("T")
Message = dict[str, Any]


class Watch:
    """A live subscription to one channel, with a deadline (`time.monotonic()` seconds)."""

    def __init__(self, subscription: Subscription, timeout: float) -> None:
        self.subscription = subscription
        self.started = time.monotonic()
        self.deadline = self.started + timeout

    def left(self) -> float:
        """Seconds until the deadline (<= 0 once it passed)."""
        return self.deadline - time.monotonic()

    async def next(self, at_most: float | None = None) -> Message | None:
        """The next message; None when the deadline (or `at_most` seconds) passes first."""
        left = self.left()
        if left <= 0:
            return None
        return await self.subscription.get(timeout=left if at_most is None else min(left, at_most))

    async def first(self, match: Callable[[Message], bool]) -> Message | None:
        """The first message for which `match` is true, or None at the deadline."""
        while self.left() > 0:
            message = await self.next()
            if message is not None and match(message):
                return message
        return None


@contextlib.asynccontextmanager
async def watch(
    channel: str, timeout: float, *, broker: Broker | None = None
) -> AsyncIterator[Watch]:
    """Subscribe to `channel` (on the runtime's broker unless given); the deadline is
    `timeout` seconds after the subscription is live."""
    async with (broker or runtime.broker()).subscribe(channel) as subscription:
        yield Watch(subscription, timeout)


async def wait_until(
    channel: str,
    look: Callable[[], Awaitable[T]],
    ready: Callable[[T], bool],
    *,
    timeout: float,
    recheck: float | None = None,
    broker: Broker | None = None,
) -> T:
    """Look (after subscribing to `channel`) until `ready(result)` or `timeout` seconds pass.

    Looks again after each message, after `recheck` seconds without one (covers a
    notification the broker lost) and once at the deadline. Returns the last look's result,
    ready or not.
    """
    async with watch(channel, timeout, broker=broker) as w:
        result = await look()
        while not ready(result) and w.left() > 0:
            await w.next(at_most=recheck)
            result = await look()
        return result
