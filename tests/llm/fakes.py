"""Local fake upstreams that speak the real wire protocols, for provider and gateway tests.

    with FakeAnthropic() as fake:              # POST {fake.url}/v1/messages
        fake.enqueue(Reply.error(529), Reply.error(529), Reply(text="hi"))
        provider = make_provider("anthropic", base_url=fake.url, api_key=fake.api_key, ...)
        ...
        assert len(fake.requests) == 3

    with FakeOpenAI() as fake:                 # POST {fake.base_url}/chat/completions
        ...

Each fake is a small Flask app served by werkzeug's `make_server` on 127.0.0.1 (free port) in
a daemon thread. Replies are scripted with `enqueue(...)` (consumed in order, then
`default_reply` forever); whether a reply is streamed follows the request's `stream` flag.
Every request is recorded (`fake.requests`: method, path, headers lower-cased, json).
The fakes frame their output independently of agentyard.llm (Anthropic: `event:` + `data:`
frames with the documented event sequence; OpenAI: `data:` chunks ending in `data: [DONE]`).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, request

from tests.local_server import LocalServer


@dataclass
class ToolCall:
    """A tool call the fake model makes."""

    name: str
    input: dict[str, Any]
    id: str = ""


@dataclass
class Reply:
    """One scripted answer. Successful replies carry `text` and/or `tool_calls`.

    `status` != 200 answers with an error (`error_type`, `message` in the protocol's error
    shape, or the raw `body`). `delay` sleeps before answering. For streams: `chunk` is the
    text piece size, `hold_after` frames are sent and then the fake waits for `hold` (a
    threading.Event), `end_after` ends the stream cleanly after that many frames, and
    `break_after` drops the connection after that many frames. `events` (Anthropic) sends
    those event dicts verbatim instead of building them.
    """

    text: str | None = "Hello from the fake upstream."
    tool_calls: list[ToolCall] = field(default_factory=list)
    stop_reason: str | None = None  # Anthropic; default end_turn / tool_use
    finish_reason: str | None = None  # OpenAI; default stop / tool_calls
    input_tokens: int = 11
    output_tokens: int = 7
    status: int = 200
    error_type: str | None = None
    message: str | None = None
    body: str | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunk: int = 6
    hold_after: int | None = None
    hold: threading.Event | None = None
    end_after: int | None = None
    break_after: int | None = None
    events: list[dict[str, Any]] | None = None

    @classmethod
    def error(
        cls,
        status: int,
        error_type: str | None = None,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        body: str | bytes | None = None,
    ) -> Reply:
        """An error answer; the type defaults from the status."""
        return cls(
            text=None,
            status=status,
            error_type=error_type,
            message=message,
            headers=headers or {},
            body=body,
        )

    def pieces(self) -> list[str]:
        text = self.text or ""
        return [text[i : i + self.chunk] for i in range(0, len(text), self.chunk)]


_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass
class Recorded:
    """A request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    at: float


class FakeServer:
    """Base: a Flask app on a free local port, scripted replies, recorded requests."""

    def __init__(self, api_key: str = "test-upstream-key") -> None:
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self.default_reply = Reply()
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.app = Flask(type(self).__name__)
        self.routes(self.app)
        self._server = LocalServer(self.app)
        self.port = self._server.port
        self.url = self._server.url

    def routes(self, app: Flask) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def enqueue(self, *replies: Reply) -> None:
        """Answer the next requests with `replies`, in order."""
        with self._lock:
            self._replies.extend(replies)

    def next_reply(self) -> Reply:
        with self._lock:
            return self._replies.popleft() if self._replies else self.default_reply

    def record(self) -> Any:
        body = request.get_json(silent=True)
        with self._lock:
            self.requests.append(
                Recorded(
                    request.method,
                    request.path,
                    {k.lower(): v for k, v in request.headers.items()},
                    body,
                    time.monotonic(),
                )
            )
        return body

    @property
    def attempts(self) -> int:
        """How many requests arrived."""
        return len(self.requests)

    def close(self) -> None:
        """Stop serving (handlers still sleeping finish in their daemon threads)."""
        self._server.close()

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def frames(reply: Reply, frames: Iterator[bytes]) -> Iterator[bytes]:
        """Apply the reply's streaming faults (hold, clean end, dropped connection)."""
        return FakeServer._faulty(reply, frames, request.environ.get("werkzeug.socket"))

    @staticmethod
    def _faulty(
        reply: Reply, frames: Iterator[bytes], sock: socket.socket | None
    ) -> Iterator[bytes]:
        for n, frame in enumerate(frames):
            if reply.end_after is not None and n >= reply.end_after:
                return
            if reply.break_after is not None and n >= reply.break_after:
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
                return
            if reply.hold_after is not None and n == reply.hold_after and reply.hold:
                reply.hold.wait(10)
            yield frame


def _sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


class FakeAnthropic(FakeServer):
    """Speaks POST /v1/messages like Anthropic.

    Requires the key (`x-api-key`, or `Authorization: Bearer` as the SDK 2.x sends it) and an
    `anthropic-version` header.
    """

    def routes(self, app: Flask) -> None:
        app.add_url_rule("/v1/messages", "messages", self.messages, methods=["POST"])

    def error(self, status: int, error_type: str | None, message: str | None) -> Response:
        body = {
            "type": "error",
            "error": {
                "type": error_type or _ANTHROPIC_TYPES.get(status, "api_error"),
                "message": message or f"fake error {status}",
            },
            "request_id": "req_fake",
        }
        return Response(json.dumps(body), status=status, mimetype="application/json")

    def messages(self) -> Response:
        body = self.record() or {}
        bearer = request.headers.get("authorization") == f"Bearer {self.api_key}"
        if request.headers.get("x-api-key") != self.api_key and not bearer:
            return self.error(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return self.error(400, "invalid_request_error", "anthropic-version header is required")
        reply = self.next_reply()
        if reply.delay:
            time.sleep(reply.delay)
        if reply.status != 200:
            if reply.body is not None:
                resp = Response(reply.body, status=reply.status)
            else:
                resp = self.error(reply.status, reply.error_type, reply.message)
            resp.headers.update(reply.headers)
            return resp
        model = body.get("model", "fake-model")
        if body.get("stream"):
            events = reply.events if reply.events is not None else self.stream_events(reply, model)
            frames = self.frames(reply, (_sse(e) for e in events))
            return Response(frames, mimetype="text/event-stream", headers=reply.headers)
        return Response(
            json.dumps(self.message(reply, model)),
            mimetype="application/json",
            headers=reply.headers,
        )

    @staticmethod
    def content(reply: Reply) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        if reply.text:
            blocks.append({"type": "text", "text": reply.text})
        for n, call in enumerate(reply.tool_calls):
            blocks.append(
                {
                    "type": "tool_use",
                    "id": call.id or f"toolu_fake{n:02d}",
                    "name": call.name,
                    "input": call.input,
                }
            )
        return blocks

    @staticmethod
    def stop_reason(reply: Reply) -> str:
        return reply.stop_reason or ("tool_use" if reply.tool_calls else "end_turn")

    def message(self, reply: Reply, model: str) -> dict[str, Any]:
        return {
            "id": "msg_fake01",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": self.content(reply),
            "stop_reason": self.stop_reason(reply),
            "stop_sequence": None,
            "usage": {
                "input_tokens": reply.input_tokens,
                "output_tokens": reply.output_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        }

    def stream_events(self, reply: Reply, model: str) -> list[dict[str, Any]]:
        start = self.message(reply, model)
        start.update(content=[], stop_reason=None)
        start["usage"] = {**start["usage"], "output_tokens": 1}
        events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
        for index, block in enumerate(self.content(reply)):
            if block["type"] == "text":
                head = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": p} for p in reply.pieces()]
            else:
                head = {**block, "input": {}}
                raw = json.dumps(block["input"])
                deltas = [{"type": "input_json_delta", "partial_json": ""}] + [
                    {"type": "input_json_delta", "partial_json": raw[i : i + 7]}
                    for i in range(0, len(raw), 7)
                ]
            events.append({"type": "content_block_start", "index": index, "content_block": head})
            if index == 0:
                events.append({"type": "ping"})
            events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
            events.append({"type": "content_block_stop", "index": index})
        events.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": self.stop_reason(reply), "stop_sequence": None},
                "usage": {"output_tokens": reply.output_tokens},
            }
        )
        events.append({"type": "message_stop"})
        return events


class FakeOpenAI(FakeServer):
    """Speaks POST /v1/chat/completions like OpenAI (checks `Authorization: Bearer`)."""

    @property
    def base_url(self) -> str:
        """The base URL a client is configured with (…/v1)."""
        return f"{self.url}/v1"

    def routes(self, app: Flask) -> None:
        app.add_url_rule("/v1/chat/completions", "chat", self.chat, methods=["POST"])

    def error(self, status: int, error_type: str | None, message: str | None) -> Response:
        code = {401: "invalid_api_key", 429: "rate_limit_exceeded"}.get(status)
        kind = {
            400: "invalid_request_error",
            401: "invalid_request_error",
            404: "invalid_request_error",
            429: "requests",
        }.get(status, "server_error")
        body = {
            "error": {
                "message": message or f"fake error {status}",
                "type": kind,
                "param": None,
                "code": error_type or code,
            }
        }
        return Response(json.dumps(body), status=status, mimetype="application/json")

    def chat(self) -> Response:
        body = self.record() or {}
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return self.error(401, None, "Incorrect API key provided")
        reply = self.next_reply()
        if reply.delay:
            time.sleep(reply.delay)
        if reply.status != 200:
            if reply.body is not None:
                resp = Response(reply.body, status=reply.status)
            else:
                resp = self.error(reply.status, reply.error_type, reply.message)
            resp.headers.update(reply.headers)
            return resp
        model = body.get("model", "fake-model")
        if body.get("stream"):
            usage = (body.get("stream_options") or {}).get("include_usage", False)
            frames = self.frames(reply, self.chunks(reply, model, usage))
            return Response(frames, mimetype="text/event-stream", headers=reply.headers)
        return Response(
            json.dumps(self.completion(reply, model)),
            mimetype="application/json",
            headers=reply.headers,
        )

    @staticmethod
    def finish_reason(reply: Reply) -> str:
        return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")

    @staticmethod
    def usage(reply: Reply) -> dict[str, Any]:
        return {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": reply.output_tokens,
            "total_tokens": reply.input_tokens + reply.output_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        }

    def completion(self, reply: Reply, model: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id or f"call_fake{n:02d}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.input)},
                }
                for n, call in enumerate(reply.tool_calls)
            ]
        return {
            "id": "chatcmpl-fake01",
            "object": "chat.completion",
            "created": 1700000000,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self.finish_reason(reply),
                }
            ],
            "usage": self.usage(reply),
            "system_fingerprint": "fp_fake",
        }

    def chunks(self, reply: Reply, model: str, include_usage: bool) -> Iterator[bytes]:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            data: dict[str, Any] = {
                "id": "chatcmpl-fake01",
                "object": "chat.completion.chunk",
                "created": 1700000000,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            if include_usage:
                data["usage"] = None
            return f"data: {json.dumps(data)}\n\n".encode()

        yield chunk({"role": "assistant", "content": "", "refusal": None})
        for piece in reply.pieces():
            yield chunk({"content": piece})
        for n, call in enumerate(reply.tool_calls):
            head = {
                "index": n,
                "id": call.id or f"call_fake{n:02d}",
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            yield chunk({"tool_calls": [head]})
            raw = json.dumps(call.input)
            for i in range(0, len(raw), 5):
                yield chunk(
                    {"tool_calls": [{"index": n, "function": {"arguments": raw[i : i + 5]}}]}
                )
        yield chunk({}, self.finish_reason(reply))
        if include_usage:
            final = {
                "id": "chatcmpl-fake01",
                "object": "chat.completion.chunk",
                "created": 1700000000,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [],
                "usage": self.usage(reply),
            }
            yield f"data: {json.dumps(final)}\n\n".encode()
        yield b"data: [DONE]\n\n"
