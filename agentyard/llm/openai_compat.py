"""An OpenAI-compatible upstream: Messages requests translated to POST {base_url}/chat/completions
and the answers (whole or streamed chunks) translated back to Anthropic shapes.

Translation choices worth knowing:
- `system` becomes the first `system` message (text blocks joined with blank lines).
- Text-only content is sent as a string; images (base64 or URL) as `image_url` parts with data
  URLs; base64 PDFs as `file` parts; plain-text documents as text.
- `tool_result` blocks become `tool` messages (placed before the rest of that user turn, as
  OpenAI requires); their images follow in the user message; `is_error` prefixes "Error: ".
- `thinking` / `redacted_thinking` blocks are dropped; `top_k` is dropped (no equivalent);
  `metadata.user_id` becomes `user`. Server tools (no `input_schema`) are refused with a 400.
- finish_reason: stop → end_turn, length → max_tokens, tool_calls/function_call → tool_use,
  content_filter → refusal. OpenAI does not say which stop sequence matched, so
  `stop_sequence` stays null unless the server reports it (vLLM's `stop_reason`).
- Tool call arguments that are not a JSON object are kept as `{"_arguments": "<raw text>"}`.
- Usage: prompt_tokens minus cached tokens → input_tokens, cached → cache_read_input_tokens,
  completion_tokens → output_tokens; estimated with agentyard.llm.tokens when absent.
  Streams ask for `stream_options.include_usage`; message_start carries the estimate and the
  final message_delta the upstream's counts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import httpx

from agentyard.llm.base import UpstreamError, empty_usage, message
from agentyard.llm.errors import bad_upstream, from_openai_response, openai_error_message
from agentyard.llm.http import HttpUpstream
from agentyard.llm.retry import RetryPolicy
from agentyard.llm.sse import parse_sse
from agentyard.llm.tokens import count_input_tokens, count_tokens

DEFAULT_BASE_URL = "https://api.openai.com/v1"

FINISH_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def _unsupported(what: str) -> UpstreamError:
    return UpstreamError(400, "invalid_request_error", f"{what} is not supported by this model")


def _text(blocks: list[dict[str, Any]]) -> str:
    return "\n\n".join(b.get("text", "") for b in blocks if b.get("type") == "text")


def _image_part(block: dict[str, Any]) -> dict[str, Any]:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
    elif source.get("type") == "url":
        url = source.get("url", "")
    else:
        raise _unsupported(f"an image source of type {source.get('type')!r}")
    return {"type": "image_url", "image_url": {"url": url}}


def _document_parts(block: dict[str, Any]) -> list[dict[str, Any]]:
    source = block.get("source") or {}
    kind = source.get("type")
    title = block.get("title")
    if kind == "base64":
        media = source.get("media_type", "application/pdf")
        data_url = f"data:{media};base64,{source.get('data', '')}"
        return [
            {"type": "file", "file": {"filename": title or "document.pdf", "file_data": data_url}}
        ]
    if kind == "text":
        text = source.get("data", "")
        return [{"type": "text", "text": f"{title}\n\n{text}" if title else text}]
    if kind == "content":
        content = source.get("content", "")
        if isinstance(content, str):
            return [{"type": "text", "text": content}]
        return [_user_part(b) for b in content]
    raise _unsupported(f"a document source of type {kind!r}")


def _user_part(block: dict[str, Any]) -> dict[str, Any]:
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": block.get("text", "")}
    if kind == "image":
        return _image_part(block)
    raise _unsupported(f"a {kind!r} block here")


def _collapse(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    if all(p["type"] == "text" for p in parts):
        return "\n\n".join(p["text"] for p in parts)
    return parts


def _user_messages(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tool_messages: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in content:
        kind = block.get("type")
        if kind == "tool_result":
            result = block.get("content", "")
            blocks = [{"type": "text", "text": result}] if isinstance(result, str) else result
            text = _text(blocks)
            if block.get("is_error"):
                text = f"Error: {text}"
            tool_messages.append(
                {"role": "tool", "tool_call_id": block.get("tool_use_id", ""), "content": text}
            )
            parts.extend(_image_part(b) for b in blocks if b.get("type") == "image")
        elif kind == "document":
            parts.extend(_document_parts(block))
        elif kind in ("thinking", "redacted_thinking"):
            continue
        else:
            parts.append(_user_part(block))
    if parts:
        tool_messages.append({"role": "user", "content": _collapse(parts)})
    return tool_messages


def _assistant_message(content: str | list[dict[str, Any]]) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts = [b for b in content if b.get("type") == "text"]
    calls = [
        {
            "id": b.get("id", ""),
            "type": "function",
            "function": {"name": b.get("name", ""), "arguments": json.dumps(b.get("input", {}))},
        }
        for b in content
        if b.get("type") == "tool_use"
    ]
    for block in content:
        if block.get("type") not in ("text", "tool_use", "thinking", "redacted_thinking"):
            raise _unsupported(f"an assistant {block.get('type')!r} block")
    out: dict[str, Any] = {"role": "assistant", "content": _text(texts) if texts else None}
    if calls:
        out["tool_calls"] = calls
    return out


def _tool_choice(choice: dict[str, Any]) -> str | dict[str, Any]:
    kind = choice.get("type", "auto")
    if kind == "any":
        return "required"
    if kind == "tool":
        return {"type": "function", "function": {"name": choice.get("name", "")}}
    return "none" if kind == "none" else "auto"


def to_openai_request(
    request: dict[str, Any], *, model: str | None = None, stream: bool = False
) -> dict[str, Any]:
    """The chat.completions body for an Anthropic Messages request (raises UpstreamError 400)."""
    messages: list[dict[str, Any]] = []
    system = request.get("system")
    if system:
        messages.append(
            {"role": "system", "content": system if isinstance(system, str) else _text(system)}
        )
    for msg in request.get("messages") or []:
        if msg.get("role") == "assistant":
            messages.append(_assistant_message(msg.get("content", "")))
        else:
            messages.extend(_user_messages(msg.get("content", "")))
    body: dict[str, Any] = {"model": model or request.get("model"), "messages": messages}
    if request.get("max_tokens") is not None:
        body["max_tokens"] = request["max_tokens"]
    for key in ("temperature", "top_p"):
        if request.get(key) is not None:
            body[key] = request[key]
    if request.get("stop_sequences"):
        body["stop"] = list(request["stop_sequences"])
    tools = request.get("tools") or []
    if tools:
        body["tools"] = []
        for tool in tools:
            if "input_schema" not in tool:
                raise _unsupported(f"the server tool {tool.get('type') or tool.get('name')!r}")
            function = {"name": tool["name"], "parameters": tool["input_schema"]}
            if tool.get("description"):
                function["description"] = tool["description"]
            body["tools"].append({"type": "function", "function": function})
        choice = request.get("tool_choice")
        if choice:
            body["tool_choice"] = _tool_choice(choice)
            if choice.get("disable_parallel_tool_use") and choice.get("type") != "none":
                body["parallel_tool_calls"] = False
    user = (request.get("metadata") or {}).get("user_id")
    if user:
        body["user"] = user
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def _tool_input(raw: str | None) -> dict[str, Any]:
    if not raw or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {"_arguments": raw}
    return value if isinstance(value, dict) else {"_arguments": raw}


def _tool_id(call_id: str | None, seed: str) -> str:
    if call_id:
        return call_id
    return "toolu_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def _usage(raw: dict[str, Any] | None) -> dict[str, int] | None:
    if not isinstance(raw, dict) or raw.get("prompt_tokens") is None:
        return None
    cached = (raw.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    usage = empty_usage(raw["prompt_tokens"] - cached, raw.get("completion_tokens") or 0)
    usage["cache_read_input_tokens"] = cached
    return usage


def _stop(
    finish_reason: str | None, choice: dict[str, Any], request: dict[str, Any]
) -> tuple[str, str | None]:
    reported = choice.get("stop_reason")  # vLLM names the stop string it matched
    if finish_reason == "stop" and reported in (request.get("stop_sequences") or []):
        return "stop_sequence", reported
    return FINISH_REASONS.get(finish_reason or "stop", "end_turn"), None


def from_openai_completion(data: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """The Anthropic Message for a chat.completion object."""
    choices = data.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        raise bad_upstream("openai", "a completion without choices")
    choice = choices[0]
    msg = choice.get("message") or {}
    text = msg.get("content")
    if isinstance(text, list):
        text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
    content: list[dict[str, Any]] = []
    if msg.get("refusal"):
        content.append({"type": "text", "text": msg["refusal"]})
    elif text:
        content.append({"type": "text", "text": text})
    for n, call in enumerate(msg.get("tool_calls") or []):
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": _tool_id(call.get("id"), f"{data.get('id')}:{n}"),
                "name": function.get("name", ""),
                "input": _tool_input(function.get("arguments")),
            }
        )
    stop_reason, stop_sequence = _stop(choice.get("finish_reason"), choice, request)
    if msg.get("refusal"):
        stop_reason = "refusal"
    elif msg.get("tool_calls") and stop_reason == "end_turn":
        stop_reason = "tool_use"
    usage = _usage(data.get("usage")) or empty_usage(
        count_input_tokens(request), _estimate_output(content)
    )
    return message(
        id=data.get("id") or "msg_openai",
        model=data.get("model") or request.get("model", ""),
        content=content,
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        usage=usage,
    )


def _estimate_output(content: list[dict[str, Any]]) -> int:
    total = 0
    for block in content:
        if block["type"] == "text":
            total += count_tokens(block["text"])
        else:
            total += count_tokens(block["name"]) + count_tokens(json.dumps(block["input"]))
    return total


class ChunkTranslator:
    """Turns chat.completion.chunk objects into Anthropic stream events, one chunk at a time."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.request = request
        self.started = False
        self.finish_reason: str | None = None
        self.last_choice: dict[str, Any] = {}
        self.usage: dict[str, int] | None = None
        self.refused = False
        self._index = -1  # index of the open block, -1 when none is open
        self._open_kind: str | None = None
        self._next = 0
        self._pinged = False
        self._tools: dict[int, int] = {}  # OpenAI tool_call index -> our block index
        self._pending: dict[int, dict[str, Any]] = {}  # tool calls whose name is unknown yet
        self._output_text: list[str] = []
        self._chunk_id = ""

    def _start(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        self.started = True
        self._chunk_id = chunk.get("id") or ""
        start = message(
            id=chunk.get("id") or "msg_openai",
            model=chunk.get("model") or self.request.get("model", ""),
            content=[],
            stop_reason=None,
            usage=empty_usage(count_input_tokens(self.request), 1),
        )
        return [{"type": "message_start", "message": start}]

    def _close(self) -> list[dict[str, Any]]:
        if self._open_kind is None:
            return []
        index, self._open_kind = self._index, None
        return [{"type": "content_block_stop", "index": index}]

    def _open(self, block: dict[str, Any]) -> list[dict[str, Any]]:
        events = self._close()
        self._index, self._open_kind = self._next, block["type"]
        self._next += 1
        events.append({"type": "content_block_start", "index": self._index, "content_block": block})
        if not self._pinged:
            events.append({"type": "ping"})
            self._pinged = True
        return events

    def _text(self, text: str) -> list[dict[str, Any]]:
        events = [] if self._open_kind == "text" else self._open({"type": "text", "text": ""})
        self._output_text.append(text)
        delta = {"type": "text_delta", "text": text}
        return [*events, {"type": "content_block_delta", "index": self._index, "delta": delta}]

    def _tool_call(self, call: dict[str, Any], position: int) -> list[dict[str, Any]]:
        slot = call.get("index", position)
        function = call.get("function") or {}
        args = function.get("arguments") or ""
        events: list[dict[str, Any]] = []
        if slot not in self._tools:
            pending = self._pending.setdefault(slot, {"id": None, "name": "", "args": ""})
            pending["id"] = pending["id"] or call.get("id")
            pending["name"] += function.get("name") or ""
            pending["args"] += args
            if not pending["name"]:
                return []
            del self._pending[slot]
            tool_id = _tool_id(pending["id"], f"{self._chunk_id}:{slot}")
            block = {"type": "tool_use", "id": tool_id, "name": pending["name"], "input": {}}
            events += self._open(block)
            self._tools[slot] = self._index
            args = pending["args"]
        if args:
            self._output_text.append(args)
            delta = {"type": "input_json_delta", "partial_json": args}
            events.append(
                {"type": "content_block_delta", "index": self._tools[slot], "delta": delta}
            )
        return events

    def feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        """Events for one chunk (raises UpstreamError when the chunk is an error object)."""
        if "error" in chunk and not chunk.get("choices"):
            text, _ = openai_error_message(chunk)
            raise UpstreamError(502, "api_error", f"openai upstream failed: {text}")
        events = [] if self.started else self._start(chunk)
        usage = _usage(chunk.get("usage"))
        if usage:
            self.usage = usage
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if delta.get("refusal"):
                self.refused = True
                events += self._text(delta["refusal"])
            if delta.get("content"):
                events += self._text(delta["content"])
            for position, call in enumerate(delta.get("tool_calls") or []):
                events += self._tool_call(call, position)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
                self.last_choice = choice
        return events

    def finish(self) -> list[dict[str, Any]]:
        """The closing events: the open block's stop, message_delta, message_stop."""
        events = []
        for slot in sorted(self._pending):  # tool calls that never got a name
            self._pending[slot]["name"] = self._pending[slot]["name"] or "unknown"
            events += self._tool_call({"index": slot, "function": {}}, slot)
        events += self._close()
        stop_reason, stop_sequence = _stop(self.finish_reason, self.last_choice, self.request)
        if self.refused:
            stop_reason = "refusal"
        elif self._tools and stop_reason == "end_turn":
            stop_reason = "tool_use"
        usage: dict[str, int] = {}
        if self.usage:
            usage = {"input_tokens": self.usage["input_tokens"]}
            if self.usage["cache_read_input_tokens"]:
                usage["cache_read_input_tokens"] = self.usage["cache_read_input_tokens"]
            usage["output_tokens"] = self.usage["output_tokens"]
        else:
            usage["output_tokens"] = count_tokens("".join(self._output_text))
        events.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
                "usage": usage,
            }
        )
        events.append({"type": "message_stop"})
        return events


class OpenAICompatProvider:
    """Answers Messages requests with an OpenAI-compatible chat.completions endpoint."""

    name = "openai"
    offline = False

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None = None,
        timeout: float = 600.0,
        connect_timeout: float | None = 10.0,
        retry: RetryPolicy | None = None,
        model: str | None = None,
        extra_headers: dict[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.model = model
        headers = {"content-type": "application/json", "accept": "application/json"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        headers.update(extra_headers or {})
        self.http = HttpUpstream(
            provider=self.name,
            url=f"{self.base_url}/chat/completions",
            headers=headers,
            timeout=timeout,
            connect_timeout=connect_timeout,
            retry=retry or RetryPolicy(),
            map_error=from_openai_response,
            transport=transport,
        )

    async def create(self, request: dict[str, Any]) -> dict[str, Any]:
        """One Message translated from the upstream's chat.completion."""
        body = to_openai_request(request, model=self.model)
        data = await self.http.post_json(body)
        if "error" in data and not data.get("choices"):
            text, _ = openai_error_message(data)
            raise UpstreamError(502, "api_error", f"openai upstream failed: {text}")
        return from_openai_completion(data, request)

    async def stream(self, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Anthropic stream events translated from the upstream's chunks as they arrive."""
        body = to_openai_request(request, model=self.model, stream=True)

        async def read(resp: httpx.Response) -> AsyncIterator[dict[str, Any]]:
            translator = ChunkTranslator(request)
            done = False
            async for sse in parse_sse(resp.aiter_lines()):
                if sse.data.strip() == "[DONE]":
                    done = True
                    break
                try:
                    chunk = sse.json()
                except ValueError:
                    raise bad_upstream(
                        self.name, f"a chunk that is not JSON: {sse.data[:80]!r}"
                    ) from None
                if not isinstance(chunk, dict):
                    raise bad_upstream(self.name, "a chunk that is not a JSON object")
                for event in translator.feed(chunk):
                    yield event
            if not translator.started:
                raise UpstreamError(
                    502, "api_error", "openai upstream sent an empty stream", retryable=True
                )
            if not done and translator.finish_reason is None:
                raise bad_upstream(self.name, "a stream that ended before [DONE]")
            for event in translator.finish():
                yield event

        async with aclosing(self.http.stream_events(body, read)) as events:
            async for event in events:
                yield event

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self.http.aclose()
