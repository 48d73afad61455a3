"""agentyard.llm.provider(): one accessor for the process's provider; jobs.run_async."""

from __future__ import annotations

import pytest

from agentyard import llm
from agentyard.config import Settings
from agentyard.core import jobs
from agentyard.llm import OfflineProvider, configured


class Tracked(OfflineProvider):
    closed = 0

    async def aclose(self) -> None:
        Tracked.closed += 1


@pytest.fixture
def settings(monkeypatch):
    monkeypatch.setattr(configured.runtime, "settings", lambda: Settings(llm_provider="offline"))
    llm.use_provider(None)
    yield
    llm.use_provider(None)


def test_shared_provider_is_built_once_from_the_settings(settings):
    first = llm.provider()
    assert isinstance(first, OfflineProvider) and llm.provider() is first
    llm.use_provider(None)  # back to the settings: rebuilt on next use
    assert llm.provider() is not first


def test_use_provider_replaces_it_everywhere(settings):
    from agentyard.harnesslayer import runs
    from agentyard.hasp.ai import gateway

    fake = OfflineProvider()
    gateway.use_provider(fake)  # the old names still work
    assert llm.provider() is fake and gateway.provider() is fake
    runs.use_provider(None)
    assert llm.provider() is not fake


def test_dedicated_provider_is_fresh_and_closed_unless_overridden(settings, monkeypatch):
    monkeypatch.setattr(configured, "from_settings", lambda s: Tracked())
    Tracked.closed = 0

    async def use():
        async with llm.dedicated_provider() as p:
            return p

    one, two = jobs.run_async(use), jobs.run_async(use)
    assert isinstance(one, Tracked) and one is not two and Tracked.closed == 2
    fake = Tracked()
    llm.use_provider(fake)
    assert jobs.run_async(use) is fake and Tracked.closed == 2  # an override is not closed


def test_run_async_returns_the_result_and_raises_the_error():
    async def add(a, b):
        return a + b

    async def fail():
        raise KeyError("x")

    assert jobs.run_async(add, 2, 3) == 5
    with pytest.raises(KeyError):
        jobs.run_async(fail)
