"""Build the configured provider."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from agentyard.llm.anthropic import ANTHROPIC_VERSION, AnthropicProvider
from agentyard.llm.base import Provider
from agentyard.llm.offline import OfflineProvider
from agentyard.llm.openai_compat import OpenAICompatProvider
from agentyard.llm.retry import RetryPolicy

PROVIDER_KINDS = ("offline", "anthropic", "openai")


def make_provider(
    kind: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    timeout: float = 600.0,
    connect_timeout: float | None = 10.0,
    max_retries: int = 2,
    backoff_initial: float = 0.5,
    backoff_max: float = 8.0,
    max_retry_after: float = 60.0,
    model: str | None = None,
    anthropic_version: str = ANTHROPIC_VERSION,
    extra_headers: dict[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> Provider:
    """The provider `kind` ("offline" | "anthropic" | "openai"), configured.

    `timeout` bounds each read (and write/pool wait), `connect_timeout` the TCP/TLS connect;
    `max_retries` extra attempts follow 429/5xx/network failures with backoff starting at
    `backoff_initial` seconds (doubling, capped at `backoff_max`, up to 25% jitter) unless the
    upstream sends retry-after (honoured up to `max_retry_after` seconds, else no retry).
    `model` replaces the request's model upstream (e.g. a real OpenAI model name).
    The offline provider ignores everything but `kind`. Raises ValueError for a bad config.
    """
    kind = (kind or "offline").strip().lower()
    if kind == "offline":
        return OfflineProvider()
    retry_args: dict[str, Any] = {
        "max_retries": max_retries,
        "initial_delay": backoff_initial,
        "max_delay": backoff_max,
        "max_retry_after": max_retry_after,
    }
    if sleep is not None:
        retry_args["sleep"] = sleep
    common: dict[str, Any] = {
        "base_url": base_url or None,
        "timeout": timeout,
        "connect_timeout": connect_timeout,
        "retry": RetryPolicy(**retry_args),
        "model": model or None,
        "extra_headers": extra_headers,
        "transport": transport,
    }
    if kind == "anthropic":
        if not api_key:
            raise ValueError("the anthropic provider needs an API key")
        return AnthropicProvider(api_key=api_key, anthropic_version=anthropic_version, **common)
    if kind in ("openai", "openai_compat", "openai-compatible"):
        return OpenAICompatProvider(api_key=api_key or None, **common)
    raise ValueError(f"unknown LLM provider {kind!r}; expected one of {', '.join(PROVIDER_KINDS)}")
