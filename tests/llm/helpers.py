"""Helpers for the LLM provider tests (also usable by the gateway's tests)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

from agentyard.llm import make_provider
from tests.llm.fakes import FakeAnthropic, FakeOpenAI


class SleepRecorder:
    """A stand-in for asyncio.sleep that records the backoff delays and barely waits."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


FAST = {"timeout": 5.0, "max_retries": 2, "backoff_initial": 0.001}


def anthropic_for(fake: FakeAnthropic, sleeps: SleepRecorder | None = None, **kw: Any) -> Any:
    """An anthropic provider pointed at `fake` with test-friendly timings."""
    return make_provider(
        "anthropic", base_url=fake.url, api_key=fake.api_key, sleep=sleeps, **{**FAST, **kw}
    )


def openai_for(fake: FakeOpenAI, sleeps: SleepRecorder | None = None, **kw: Any) -> Any:
    """An OpenAI-compatible provider pointed at `fake` with test-friendly timings."""
    return make_provider(
        "openai", base_url=fake.base_url, api_key=fake.api_key, sleep=sleeps, **{**FAST, **kw}
    )


async def collect(events: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every event of a stream."""
    return [event async for event in events]


def free_port() -> int:
    """A local TCP port nobody listens on (right now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(coro: Any) -> Any:
    """Run a coroutine to completion on a fresh event loop."""
    return asyncio.run(coro)


def types(events: list[dict[str, Any]]) -> list[str]:
    """The `type` of each event."""
    return [e["type"] for e in events]


def user(text: str, **extra: Any) -> dict[str, Any]:
    """A minimal Messages request with one user turn."""
    return {
        "model": "claude-test",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }
