"""make_provider and the retry policy."""

from __future__ import annotations

import pytest

from agentyard.llm import (
    PROVIDER_KINDS,
    AnthropicProvider,
    OfflineProvider,
    OpenAICompatProvider,
    Provider,
    RetryPolicy,
    make_provider,
)
from agentyard.llm.retry import parse_retry_after


def test_kinds():
    assert PROVIDER_KINDS == ("offline", "anthropic", "openai")
    assert isinstance(make_provider("offline"), OfflineProvider)
    assert isinstance(make_provider(""), OfflineProvider)
    anthropic = make_provider("anthropic", api_key="k", base_url="http://up.test/", timeout=3)
    assert (
        isinstance(anthropic, AnthropicProvider)
        and anthropic.http.url == "http://up.test/v1/messages"
    )
    assert anthropic.http.timeout.read == 3 and anthropic.http.timeout.connect == 10
    openai = make_provider("OpenAI", api_key=None)
    assert isinstance(openai, OpenAICompatProvider)
    assert openai.http.url == "https://api.openai.com/v1/chat/completions"
    assert "authorization" not in openai.http.headers  # keyless local servers (vLLM, Ollama)
    for provider in (anthropic, openai):
        assert isinstance(provider, Provider) and provider.offline is False


def test_bad_config():
    with pytest.raises(ValueError, match="API key"):
        make_provider("anthropic", api_key=None)
    with pytest.raises(ValueError, match="unknown LLM provider"):
        make_provider("bedrock")


def test_backoff_doubles_with_jitter_and_caps():
    policy = RetryPolicy(max_retries=10, initial_delay=1.0, max_delay=5.0, jitter=0.25)
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 5.0), (6, 5.0)]:
        delay = policy.delay(attempt)
        assert ceiling * 0.75 <= delay <= ceiling
    assert policy.delay(10) is None
    assert policy.delay(0, retry_after=2.5) == 2.5
    assert policy.delay(0, retry_after=61) is None


def test_parse_retry_after():
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
