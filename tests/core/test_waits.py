"""core/waits: wait for a pub/sub event until a deadline, on every broker under test."""

from __future__ import annotations

import asyncio
import os
import secrets
import time

import pytest

from agentyard.core import waits
from agentyard.core.pubsub import MemoryBroker, RedisBroker

REDIS_URL = os.environ.get("AGENTYARD_TEST_REDIS_URL")
KINDS = ["memory"] + (["redis"] if REDIS_URL else [])


@pytest.fixture(params=KINDS)
def broker(request):
    b = MemoryBroker() if request.param == "memory" else RedisBroker(REDIS_URL)
    yield b
    b.close()


def channel() -> str:
    return f"test:waits:{secrets.token_hex(4)}"


def test_wait_until_wakes_on_publish(broker):
    ch, state = channel(), {"n": 0}

    async def look():
        return state["n"]

    async def later():
        await asyncio.sleep(0.2)
        state["n"] = 1
        await asyncio.to_thread(broker.publish, ch, {"seq": 1})

    async def scenario():
        started = time.monotonic()
        publisher = asyncio.create_task(later())
        result = await waits.wait_until(ch, look, bool, timeout=5, broker=broker)
        await publisher
        return result, time.monotonic() - started

    result, took = asyncio.run(scenario())
    assert result == 1 and took < 2


def test_wait_until_times_out_at_the_deadline(broker):
    looks = []

    async def look():
        looks.append(time.monotonic())
        return None

    async def scenario():
        started = time.monotonic()
        result = await waits.wait_until(channel(), look, bool, timeout=0.3, broker=broker)
        return result, time.monotonic() - started

    result, took = asyncio.run(scenario())
    assert result is None
    assert 0.25 <= took < 2
    assert len(looks) == 2  # once after subscribing, once at the deadline


def test_no_lost_wakeup_between_the_look_and_the_wait(broker):
    """The event lands after the first look said "not ready" but before the wait began:
    the subscription (taken before the look) queued it, so the wait wakes at once."""
    ch, state = channel(), {"n": 0, "looks": 0}

    async def look():
        state["looks"] += 1
        seen = state["n"]
        if state["looks"] == 1:  # the event lands right after this look read the state
            state["n"] = 1
            await asyncio.to_thread(broker.publish, ch, {"seq": 1})
        return seen

    async def scenario():
        started = time.monotonic()
        result = await waits.wait_until(ch, look, bool, timeout=5, broker=broker)
        return result, time.monotonic() - started

    result, took = asyncio.run(scenario())
    assert result == 1 and state["looks"] == 2 and took < 2


def test_recheck_covers_a_lost_notification(broker):
    state = {"looks": 0}

    async def look():
        state["looks"] += 1
        return state["looks"] >= 3  # ready on the third look, with nothing ever published

    async def scenario():
        started = time.monotonic()
        result = await waits.wait_until(
            channel(), look, bool, timeout=5, recheck=0.05, broker=broker
        )
        return result, time.monotonic() - started

    result, took = asyncio.run(scenario())
    assert result is True and took < 2


def test_watch_first_skips_other_messages_and_gives_up_at_the_deadline(broker):
    ch = channel()

    async def scenario():
        async with waits.watch(ch, 2, broker=broker) as w:
            await asyncio.to_thread(broker.publish, ch, {"nonce": "other"})
            await asyncio.to_thread(broker.publish, ch, {"nonce": "mine"})
            found = await w.first(lambda m: m.get("nonce") == "mine")
        async with waits.watch(ch, 0.2, broker=broker) as w:
            await asyncio.to_thread(broker.publish, ch, {"nonce": "other"})
            missing = await w.first(lambda m: m.get("nonce") == "mine")
            left = w.left()
        return found, missing, left

    found, missing, left = asyncio.run(scenario())
    assert found == {"nonce": "mine"}
    assert missing is None and left <= 0
