"""HTTP plumbing shared by the upstream providers: one client per event loop, retries,
error mapping, and streaming that only retries while nothing has been yielded yet."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx

from agentyard.llm.base import UpstreamError
from agentyard.llm.errors import bad_upstream, from_transport_error
from agentyard.llm.retry import RetryPolicy

log = logging.getLogger("agentyard.llm")

ErrorMapper = Callable[[int, bytes, Mapping[str, str]], UpstreamError]
EventReader = Callable[[httpx.Response], AsyncIterator[dict[str, Any]]]


class HttpUpstream:
    """POSTs JSON to one upstream URL with timeouts, retries and error mapping."""

    def __init__(
        self,
        *,
        provider: str,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        connect_timeout: float | None,
        retry: RetryPolicy,
        map_error: ErrorMapper,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.provider = provider
        self.url = url
        self.headers = dict(headers)
        self.timeout = httpx.Timeout(timeout, connect=connect_timeout or timeout)
        self.retry = retry
        self.map_error = map_error
        self.transport = transport
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def client(self) -> httpx.AsyncClient:
        """The pooled client for the running event loop (created on first use)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop or self._client.is_closed:
            self._client = httpx.AsyncClient(
                timeout=self.timeout, transport=self.transport, follow_redirects=False
            )
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the pooled client if it belongs to the running loop."""
        client, self._client = self._client, None
        if client is not None and self._loop is asyncio.get_running_loop():
            await client.aclose()

    async def backoff(self, err: UpstreamError, attempt: int) -> None:
        """Wait before retry `attempt + 1`, or raise `err` when we should stop."""
        delay = self.retry.delay(attempt, err.retry_after) if err.retryable else None
        if delay is None:
            raise err
        log.warning(
            "%s upstream failed (%s %s: %s); retry %d/%d in %.2fs",
            self.provider,
            err.status,
            err.error_type,
            err.message,
            attempt + 1,
            self.retry.max_retries,
            delay,
        )
        await self.retry.sleep(delay)

    async def post_json(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST `body` and return the JSON object answered, retrying transient failures."""
        attempt = 0
        while True:
            try:
                resp = await self.client().post(self.url, json=body, headers=self.headers)
                if resp.is_success:
                    try:
                        data = resp.json()
                    except ValueError:
                        data = None
                    if not isinstance(data, dict):
                        raise bad_upstream(self.provider, "a response that is not a JSON object")
                    return data
                err = self.map_error(resp.status_code, resp.content, resp.headers)
            except httpx.RequestError as exc:
                err = from_transport_error(self.provider, exc)
            await self.backoff(err, attempt)
            attempt += 1

    @asynccontextmanager
    async def open_stream(self, body: dict[str, Any]) -> AsyncIterator[httpx.Response]:
        """POST `body` for a streamed answer; raises UpstreamError for an error status."""
        headers = {**self.headers, "accept": "text/event-stream"}
        request = self.client().build_request("POST", self.url, json=body, headers=headers)
        resp = await self.client().send(request, stream=True)
        try:
            if not resp.is_success:
                await resp.aread()
                raise self.map_error(resp.status_code, resp.content, resp.headers)
            yield resp
        finally:
            await resp.aclose()

    async def stream_events(
        self, body: dict[str, Any], read_events: EventReader
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Events `read_events` makes of the streamed response, as they arrive.

        Until the first event is yielded, failures are retried like `post_json` and finally
        raised; after it, a failure becomes a closing Anthropic `error` event.
        """
        attempt = 0
        while True:
            started = False
            try:
                async with self.open_stream(body) as resp:
                    async for event in read_events(resp):
                        started = True
                        yield event
                return
            except (UpstreamError, httpx.RequestError) as exc:
                if isinstance(exc, UpstreamError):
                    err = exc
                else:
                    err = from_transport_error(self.provider, exc)
                    err.message += " mid-stream" if started else ""
                if started:
                    log.warning("%s upstream stream failed: %s", self.provider, err.message)
                    yield err.body()
                    return
            await self.backoff(err, attempt)
            attempt += 1
