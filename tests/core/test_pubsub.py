"""Pub/sub: in-process always, Redis when AGENTYARD_TEST_REDIS_URL is set."""

from __future__ import annotations

import asyncio
import os
import secrets
import threading

import pytest

from agentyard.core.pubsub import MemoryBroker, RedisBroker

REDIS_URL = os.environ.get("AGENTYARD_TEST_REDIS_URL")
KINDS = ["memory"] + (["redis"] if REDIS_URL else [])


def make(kind):
    return MemoryBroker() if kind == "memory" else RedisBroker(REDIS_URL)


@pytest.mark.parametrize("kind", KINDS)
def test_publish_from_a_thread_reaches_subscribers(kind):
    broker = make(kind)
    channel = f"test:{secrets.token_hex(4)}"

    async def scenario():
        async with broker.subscribe(channel) as one, broker.subscribe(channel) as two:
            count = await asyncio.to_thread(broker.publish, channel, {"n": 1})
            assert count >= 1
            assert (await one.get(timeout=2)) == {"n": 1}
            assert (await two.get(timeout=2)) == {"n": 1}
            assert await one.get(timeout=0.05) is None
        await asyncio.sleep(0.1)
        assert await asyncio.to_thread(broker.publish, channel, {"n": 2}) == 0

    asyncio.run(scenario())
    broker.close()


@pytest.mark.skipif(not REDIS_URL, reason="AGENTYARD_TEST_REDIS_URL not set")
def test_redis_reaches_a_subscriber_in_another_broker():
    """Two brokers stand for two worker processes sharing one Redis."""
    publisher, subscriber = RedisBroker(REDIS_URL), RedisBroker(REDIS_URL)
    channel = f"test:{secrets.token_hex(4)}"
    ready, done = threading.Event(), threading.Event()
    got = {}

    async def listen():
        async with subscriber.subscribe(channel) as sub:
            ready.set()
            got["msg"] = await sub.get(timeout=5)
        done.set()

    thread = threading.Thread(target=lambda: asyncio.run(listen()))
    thread.start()
    assert ready.wait(5)
    assert publisher.publish(channel, {"hello": "worker"}) == 1
    thread.join(10)
    assert got["msg"] == {"hello": "worker"}


def test_memory_broker_counts_only_live_subscribers():
    broker = MemoryBroker()
    assert broker.publish("nobody", {}) == 0
