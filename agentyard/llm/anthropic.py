"""The Anthropic upstream: POST {base_url}/v1/messages, streamed events passed through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import httpx

from agentyard.llm.base import UpstreamError
from agentyard.llm.errors import bad_upstream, from_anthropic_response
from agentyard.llm.http import HttpUpstream
from agentyard.llm.retry import RetryPolicy
from agentyard.llm.sse import parse_sse

DEFAULT_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"
_RETRYABLE_EVENT_ERRORS = frozenset({"overloaded_error", "api_error", "rate_limit_error"})
_STATUS_FOR_EVENT_ERROR = {
    "invalid_request_error": 400,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "overloaded_error": 529,
}


class AnthropicProvider:
    """Forwards Messages requests to Anthropic (or anything that speaks its API)."""

    name = "anthropic"
    offline = False

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        timeout: float = 600.0,
        connect_timeout: float | None = 10.0,
        retry: RetryPolicy | None = None,
        model: str | None = None,
        anthropic_version: str = ANTHROPIC_VERSION,
        extra_headers: dict[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.model = model
        headers = {
            "x-api-key": api_key,
            "anthropic-version": anthropic_version,
            "content-type": "application/json",
            "accept": "application/json",
            **(extra_headers or {}),
        }
        self.http = HttpUpstream(
            provider=self.name,
            url=f"{self.base_url}/v1/messages",
            headers=headers,
            timeout=timeout,
            connect_timeout=connect_timeout,
            retry=retry or RetryPolicy(),
            map_error=from_anthropic_response,
            transport=transport,
        )

    def _body(self, request: dict[str, Any], *, stream: bool) -> dict[str, Any]:
        body = {key: value for key, value in request.items() if key != "stream"}
        if self.model:
            body["model"] = self.model
        if stream:
            body["stream"] = True
        return body

    async def create(self, request: dict[str, Any]) -> dict[str, Any]:
        """One Message from the upstream (retried on 429/5xx/network errors)."""
        msg = await self.http.post_json(self._body(request, stream=False))
        if msg.get("type") != "message" or not isinstance(msg.get("content"), list):
            raise bad_upstream(self.name, "a response that is not a Message object")
        return msg

    async def stream(self, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """The upstream's stream events, passed through one by one as they arrive."""
        body = self._body(request, stream=True)
        async with aclosing(self.http.stream_events(body, self._read_events)) as events:
            async for event in events:
                yield event

    async def _read_events(self, resp: httpx.Response) -> AsyncIterator[dict[str, Any]]:
        first = True
        async for sse in parse_sse(resp.aiter_lines()):
            try:
                event = sse.json()
            except ValueError:
                raise bad_upstream(
                    self.name, f"an event that is not JSON: {sse.data[:80]!r}"
                ) from None
            if not isinstance(event, dict) or "type" not in event:
                raise bad_upstream(self.name, f"an event without a type: {sse.data[:80]!r}")
            if event["type"] == "error" and first:
                raise self._event_error(event)  # nothing sent yet: may still be retried
            first = False
            yield event
            if event["type"] in ("message_stop", "error"):
                return
        if first:
            raise UpstreamError(
                502, "api_error", "anthropic upstream sent an empty stream", retryable=True
            )
        raise bad_upstream(self.name, "a stream that ended before message_stop")

    def _event_error(self, event: dict[str, Any]) -> UpstreamError:
        err = event.get("error") or {}
        error_type = err.get("type", "api_error")
        message = err.get("message") or "anthropic upstream stream failed"
        if error_type in ("authentication_error", "permission_error"):
            error_type, message = "api_error", "the anthropic upstream refused our credentials"
        return UpstreamError(
            _STATUS_FOR_EVENT_ERROR.get(error_type, 502),
            error_type,
            message,
            retryable=error_type in _RETRYABLE_EVENT_ERRORS,
        )

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self.http.aclose()
