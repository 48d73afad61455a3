"""Pub/sub behind one interface: in-process by default, Redis when `REDIS_URL` is set.

`publish()` is synchronous and thread-safe (handlers run in a threadpool) and returns how many
live subscribers got the message (for Redis: how many processes hold a subscription).
`subscribe()` is used from async code (SSE streams, long-polls) and holds no thread while
waiting. With Redis, each process keeps one subscriber connection per event loop and fans
messages out to its local subscriptions, so hundreds of streams need one Redis connection.

`listen()` is for process-wide control messages (e.g. "forget this cached key"): a callback
run for every message on a channel, from a background thread (Redis) or inline (in-process),
with an `on_gap` callback for when messages may have been missed (a lost Redis connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

log = logging.getLogger("agentyard.pubsub")


class Subscription:
    """A subscriber's queue, bound to the event loop that created it."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def deliver(self, message: dict[str, Any]) -> None:
        """Hand a message to the subscriber from any thread."""
        with contextlib.suppress(RuntimeError):  # loop already closed
            self.loop.call_soon_threadsafe(self.queue.put_nowait, message)

    async def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next message, or None after `timeout` seconds."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None


class LocalFanout:
    """Channel -> local subscriptions, shared by both brokers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[str, set[Subscription]] = {}

    def add(self, sub: Subscription) -> bool:
        """Add; True when it is the channel's first local subscriber."""
        with self._lock:
            subs = self._subs.setdefault(sub.channel, set())
            subs.add(sub)
            return len(subs) == 1

    def remove(self, sub: Subscription) -> bool:
        """Remove; True when the channel has no local subscriber left."""
        with self._lock:
            subs = self._subs.get(sub.channel, set())
            subs.discard(sub)
            if not subs:
                self._subs.pop(sub.channel, None)
                return True
            return False

    def deliver(self, channel: str, message: dict[str, Any]) -> int:
        """Deliver to every local subscriber of `channel`; return how many."""
        with self._lock:
            subs = list(self._subs.get(channel, ()))
        for sub in subs:
            sub.deliver(message)
        return len(subs)

    def channels(self) -> list[str]:
        with self._lock:
            return list(self._subs)


Callback = Callable[[dict[str, Any]], None]


class Listener:
    """A process-wide listener on one channel (see `Broker.listen`)."""

    @property
    def healthy(self) -> bool:
        """Whether every message published since it started has reached the callback."""
        return True

    def close(self) -> None:
        """Stop listening."""


class _LocalListener(Listener):
    def __init__(self, callbacks: dict[str, list[Callback]], channel: str, cb: Callback) -> None:
        self._callbacks, self._channel, self._cb = callbacks, channel, cb
        callbacks.setdefault(channel, []).append(cb)

    def close(self) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._callbacks[self._channel].remove(self._cb)


class _ThreadListener(Listener):
    """One Redis subscriber connection in a daemon thread; reconnects after a failure and then
    calls `on_gap` (messages published meanwhile are lost)."""

    def __init__(
        self, url: str, channel: str, callback: Callback, on_gap: Callable[[], None]
    ) -> None:
        import redis

        self._client = redis.Redis.from_url(url)
        self._channel, self._callback, self._on_gap = channel, callback, on_gap
        self._ok = False
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"listen:{channel}", daemon=True)
        self._thread.start()
        self._ready.wait(5.0)

    @property
    def healthy(self) -> bool:
        return self._ok

    def _run(self) -> None:
        while not self._stop.is_set():
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self._channel)
                self._on_gap()  # anything published before this subscription is unknown
                self._ok = True
                self._ready.set()
                while not self._stop.is_set():
                    raw = pubsub.get_message(timeout=1.0)
                    if raw is not None and raw.get("type") == "message":
                        self._callback(json.loads(raw["data"]))
            except Exception:  # connection trouble: unhealthy until subscribed again
                self._ok = False
                self._ready.set()
                log.exception("redis listener on %s failed; reconnecting", self._channel)
                self._stop.wait(0.5)
            finally:
                with contextlib.suppress(Exception):
                    pubsub.close()
        self._ok = False

    def close(self) -> None:
        self._stop.set()


class Broker:
    """The interface every surface uses."""

    def publish(self, channel: str, message: dict[str, Any]) -> int:
        raise NotImplementedError

    def listen(
        self, channel: str, callback: Callback, on_gap: Callable[[], None] = lambda: None
    ) -> Listener:
        """Call `callback(message)` for every message on `channel`, process-wide, until the
        listener is closed; `on_gap()` when messages may have been missed."""
        raise NotImplementedError

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        raise NotImplementedError
        yield  # pragma: no cover

    def close(self) -> None:
        """Release connections."""


class MemoryBroker(Broker):
    """In-process broker: reaches subscribers of this process only."""

    def __init__(self) -> None:
        self.fanout = LocalFanout()
        self._callbacks: dict[str, list[Callback]] = {}

    def publish(self, channel: str, message: dict[str, Any]) -> int:
        for callback in list(self._callbacks.get(channel, ())):
            callback(message)
        return self.fanout.deliver(channel, message)

    def listen(
        self, channel: str, callback: Callback, on_gap: Callable[[], None] = lambda: None
    ) -> Listener:
        return _LocalListener(self._callbacks, channel, callback)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        sub = Subscription(channel)
        self.fanout.add(sub)
        try:
            yield sub
        finally:
            self.fanout.remove(sub)


class _LoopListener:
    """One Redis subscriber connection serving every subscription on one event loop."""

    def __init__(self, url: str, prefix: str, fanout: LocalFanout) -> None:
        import redis.asyncio as aioredis

        self.client = aioredis.Redis.from_url(url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.prefix = prefix
        self.fanout = fanout
        self.task: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()

    async def add(self, sub: Subscription) -> None:
        async with self.lock:
            if self.fanout.add(sub):
                await self.pubsub.subscribe(self.prefix + sub.channel)
            if self.task is None or self.task.done():
                self.task = asyncio.create_task(self._listen())

    async def remove(self, sub: Subscription) -> None:
        async with self.lock:
            if self.fanout.remove(sub):
                with contextlib.suppress(Exception):
                    await self.pubsub.unsubscribe(self.prefix + sub.channel)

    async def _listen(self) -> None:
        while self.fanout.channels():
            try:
                raw = await self.pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # connection trouble: back off, the client reconnects
                log.exception("redis pub/sub listener error")
                await asyncio.sleep(0.5)
                continue
            if raw is None or raw.get("type") != "message":
                continue
            channel = raw["channel"].decode()[len(self.prefix) :]
            self.fanout.deliver(channel, json.loads(raw["data"]))


class RedisBroker(Broker):
    """Redis pub/sub: a message published by any worker or host reaches every subscriber."""

    def __init__(self, url: str, prefix: str = "agentyard:") -> None:
        import redis

        self.url = url
        self.prefix = prefix
        self.client = redis.Redis.from_url(url)
        self._listeners: dict[asyncio.AbstractEventLoop, _LoopListener] = {}
        self._lock = threading.Lock()

    def publish(self, channel: str, message: dict[str, Any]) -> int:
        return int(self.client.publish(self.prefix + channel, json.dumps(message)))

    def listen(
        self, channel: str, callback: Callback, on_gap: Callable[[], None] = lambda: None
    ) -> Listener:
        return _ThreadListener(self.url, self.prefix + channel, callback, on_gap)

    def _listener(self) -> _LoopListener:
        loop = asyncio.get_running_loop()
        with self._lock:
            for dead in [lp for lp in self._listeners if lp.is_closed()]:
                del self._listeners[dead]
            if loop not in self._listeners:
                self._listeners[loop] = _LoopListener(self.url, self.prefix, LocalFanout())
            return self._listeners[loop]

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        listener = self._listener()
        sub = Subscription(channel)
        await listener.add(sub)
        try:
            yield sub
        finally:
            await listener.remove(sub)

    def close(self) -> None:
        self.client.close()


def make_broker(redis_url: str | None) -> Broker:
    """Redis when a URL is configured, else in-process."""
    return RedisBroker(redis_url) if redis_url else MemoryBroker()
