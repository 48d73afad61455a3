"""Anthropic stream events: build them from a Message, and fold them back into one.

The sequence Anthropic documents: `message_start`, then per content block
`content_block_start`, `content_block_delta`*, `content_block_stop` (a `ping` follows the first
`content_block_start`), then `message_delta` (stop_reason, stop_sequence, usage) and
`message_stop`. An `error` event may end a stream early. Deltas: `text_delta` for text,
`input_json_delta` for tool input, `thinking_delta` then one `signature_delta` for thinking.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any, cast

from agentyard.llm.base import UpstreamError, empty_usage
from agentyard.llm.tokens import token_spans

TERMINAL_EVENTS = frozenset({"message_stop", "error"})


def chunk_text(text: str, tokens_per_chunk: int = 4) -> list[str]:
    """Split `text` into pieces of about `tokens_per_chunk` tokens that join back to it."""
    spans = token_spans(text)
    if len(spans) <= tokens_per_chunk:
        return [text] if text else []
    cuts = [spans[i][0] for i in range(tokens_per_chunk, len(spans), tokens_per_chunk)]
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def chunk_json(data: str, size: int = 16) -> list[str]:
    """Split serialised JSON into `size`-character pieces (empty input gives [""])."""
    return [data[i : i + size] for i in range(0, len(data), size)] or [""]


def message_start(msg: dict[str, Any], output_tokens: int = 1) -> dict[str, Any]:
    """The `message_start` event for `msg`: same envelope, no content, no stop reason yet."""
    usage = dict(msg.get("usage") or empty_usage())
    usage["output_tokens"] = min(output_tokens, usage.get("output_tokens", 0))
    start = {**msg, "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}
    return {"type": "message_start", "message": start}


def message_events(
    msg: dict[str, Any], tokens_per_chunk: int = 4, json_chunk_size: int = 16
) -> Iterator[dict[str, Any]]:
    """The full event sequence that streams the complete Message `msg`."""
    yield message_start(msg)
    pinged = False
    for index, block in enumerate(msg.get("content") or []):
        kind = block.get("type")
        if kind == "text":
            yield {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "text", "text": ""},
            }
            deltas = [
                {"type": "text_delta", "text": piece}
                for piece in chunk_text(block.get("text", ""), tokens_per_chunk)
            ]
        elif kind == "thinking":  # thinking deltas, then the signature, as Anthropic streams
            yield {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "thinking", "thinking": "", "signature": ""},
            }
            deltas = [
                {"type": "thinking_delta", "thinking": piece}
                for piece in chunk_text(block.get("thinking", ""), tokens_per_chunk)
            ]
            deltas.append({"type": "signature_delta", "signature": block.get("signature", "")})
        elif kind == "tool_use":
            yield {
                "type": "content_block_start",
                "index": index,
                "content_block": {
                    "type": "tool_use",
                    "id": block["id"],
                    "name": block["name"],
                    "input": {},
                },
            }
            serialised = json.dumps(block.get("input", {}))
            deltas = [
                {"type": "input_json_delta", "partial_json": piece}
                for piece in chunk_json(serialised, json_chunk_size)
            ]
        else:  # other block types are sent whole in their start event
            yield {"type": "content_block_start", "index": index, "content_block": block}
            deltas = []
        if not pinged:
            yield {"type": "ping"}
            pinged = True
        for delta in deltas:
            yield {"type": "content_block_delta", "index": index, "delta": delta}
        yield {"type": "content_block_stop", "index": index}
    if not pinged:
        yield {"type": "ping"}
    usage = msg.get("usage") or empty_usage()
    yield {
        "type": "message_delta",
        "delta": {"stop_reason": msg.get("stop_reason"), "stop_sequence": msg.get("stop_sequence")},
        "usage": {"output_tokens": usage.get("output_tokens", 0)},
    }
    yield {"type": "message_stop"}


class MessageAccumulator:
    """Folds stream events into the Message they describe (like the SDK's final message)."""

    def __init__(self) -> None:
        self.message: dict[str, Any] | None = None
        self._json: dict[int, str] = {}
        self.done = False

    def add(self, event: dict[str, Any]) -> None:
        """Apply one event; raises UpstreamError for an `error` event."""
        kind = event.get("type")
        if kind == "message_start":
            self.message = copy.deepcopy(event["message"])
            self.message.setdefault("content", [])
        elif kind == "error":
            err = event.get("error") or {}
            status = 529 if err.get("type") == "overloaded_error" else 502
            raise UpstreamError(status, err.get("type", "api_error"), err.get("message", ""))
        elif self.message is None:
            if kind != "ping":
                raise ValueError(f"stream event {kind!r} before message_start")
        elif kind == "content_block_start":
            block = copy.deepcopy(event["content_block"])
            content = self.message["content"]
            content.extend({} for _ in range(event["index"] + 1 - len(content)))
            content[event["index"]] = block
        elif kind == "content_block_delta":
            self._apply_delta(event["index"], event["delta"])
        elif kind == "content_block_stop":
            self._finish_block(event["index"])
        elif kind == "message_delta":
            self.message.update(event.get("delta") or {})
            for key, value in (event.get("usage") or {}).items():
                if value is not None:
                    self.message.setdefault("usage", {})[key] = value
        elif kind == "message_stop":
            self.done = True

    def _apply_delta(self, index: int, delta: dict[str, Any]) -> None:
        block = cast(dict[str, Any], self.message)["content"][index]  # after message_start
        kind = delta.get("type")
        if kind == "text_delta":
            block["text"] = block.get("text", "") + delta["text"]
        elif kind == "input_json_delta":
            self._json[index] = self._json.get(index, "") + delta["partial_json"]
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta["thinking"]
        elif kind == "signature_delta":
            block["signature"] = delta["signature"]
        elif kind == "citations_delta":
            block.setdefault("citations", []).append(delta["citation"])

    def _finish_block(self, index: int) -> None:
        raw = self._json.pop(index, None)
        if raw is not None:
            message = cast(dict[str, Any], self.message)  # after message_start
            message["content"][index]["input"] = json.loads(raw) if raw.strip() else {}


def accumulate(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The Message a complete list of stream events describes."""
    acc = MessageAccumulator()
    for event in events:
        acc.add(event)
    if acc.message is None or not acc.done:
        raise UpstreamError(502, "api_error", "stream ended before message_stop")
    return acc.message
