"""Fixtures for the LLM provider tests: fake upstreams and a backoff sleep recorder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.llm.fakes import FakeAnthropic, FakeOpenAI
from tests.llm.helpers import SleepRecorder


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()
