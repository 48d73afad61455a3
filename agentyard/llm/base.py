"""The provider interface every LLM backend implements, and the one error they raise.

Providers speak Anthropic's Messages API shapes in both directions: `create()` returns an
Anthropic Message object, `stream()` yields Anthropic stream events as dicts, so the gateway
can pass either straight through.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol, runtime_checkable

ERROR_TYPES = frozenset(
    {
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "not_found_error",
        "request_too_large",
        "rate_limit_error",
        "api_error",
        "overloaded_error",
    }
)

STOP_REASONS = frozenset(
    {"end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"}
)


class UpstreamError(Exception):
    """A failure to report to the caller as an Anthropic error.

    `status` is the HTTP status the gateway should answer with, `error_type` the Anthropic
    error type, `retryable` whether trying again later may succeed, `retry_after` seconds the
    upstream asked us to wait (or None), `upstream_status` what the upstream actually said
    (None when it never answered) — for logs only.
    """

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        upstream_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type if error_type in ERROR_TYPES else "api_error"
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.upstream_status = upstream_status

    def body(self) -> dict[str, Any]:
        """The Anthropic error object; also the data of a stream `error` event."""
        return {"type": "error", "error": {"type": self.error_type, "message": self.message}}

    def __repr__(self) -> str:
        return (
            f"UpstreamError({self.status}, {self.error_type!r}, {self.message!r}, "
            f"retryable={self.retryable}, retry_after={self.retry_after})"
        )


@runtime_checkable
class Provider(Protocol):
    """An LLM backend that answers Anthropic Messages requests."""

    name: str
    offline: bool

    async def create(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer `request` with one Anthropic Message object (raises UpstreamError)."""
        ...

    def stream(self, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Answer `request` as Anthropic stream events.

        Failures before the first event raise UpstreamError (so the gateway can still answer
        with an HTTP error); failures after it are yielded as a final `error` event.
        """
        ...

    async def aclose(self) -> None:
        """Release connections; the provider may be used again afterwards."""
        ...


def empty_usage(input_tokens: int = 0, output_tokens: int = 0) -> dict[str, int]:
    """An Anthropic `usage` object with the cache counters at zero."""
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def message(
    *,
    id: str,
    model: str,
    content: list[dict[str, Any]],
    stop_reason: str | None,
    stop_sequence: str | None = None,
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    """An Anthropic Message object with keys in the API's order."""
    return {
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage or empty_usage(),
    }
