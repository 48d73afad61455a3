"""The offline provider: deterministic, clearly labelled replies without any network.

The same request always gets the same reply, byte for byte (stream or not). Text replies read

    [offline] No model was called. You said: "<last user turn>" (request <digest>, <n> input
    tokens).

where the last user turn is echoed (text verbatim; images, documents and tool results as
bracketed notes), so tests can aim `stop_sequences` at words of their own prompt.

tool_choice:
- `tool` (name) → a `tool_use` block for that tool (400 when no such tool is defined);
- `any` → a `tool_use` block for the tool the last user turn names, else the first tool;
- `auto` (or absent) with tools → a `tool_use` block when the last user turn names a tool
  (whole word, any case) and carries no tool_result; otherwise text;
- `none`, or no tools → text.
A `tool_use` block has id `toolu_<hex>`, `input` generated from the tool's `input_schema`
(see schema_values) and stop_reason "tool_use"; it is never truncated by max_tokens.
Text is cut at the first stop sequence (stop_reason "stop_sequence") or after `max_tokens`
tokens (stop_reason "max_tokens"), whichever the reply reaches first.

thinking: with `{"type": "enabled", "budget_tokens": n}` (or `adaptive`) the reply starts with a
`thinking` block that says no model thought anything, labelled `[offline]`, cut after
`budget_tokens` tokens (and after `max_tokens`), and signed `offline-<hex>`; thinking counts
toward `max_tokens`, so the text after it gets what is left. `display: "omitted"` leaves the
thinking text empty (the signature stays). `disabled`, `between_tools` or no `thinking`: no block.
Anthropic's other parameters (service_tier, container, mcp_servers, ...) change nothing here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any, cast

from agentyard.llm.base import UpstreamError, empty_usage, message
from agentyard.llm.events import message_events
from agentyard.llm.schema_values import example_value
from agentyard.llm.tokens import count_input_tokens, count_tokens, token_spans, truncate_tokens

LABEL = "[offline] "


def request_digest(request: dict[str, Any]) -> str:
    """A stable hex digest of everything in `request` but the `stream` flag."""
    relevant = {k: v for k, v in request.items() if k != "stream"}
    canonical = json.dumps(relevant, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _block_note(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "text":
        return block.get("text", "")
    if kind == "image":
        return "[image]"
    if kind == "document":
        title = block.get("title")
        return f"[document: {title}]" if title else "[document]"
    if kind == "tool_result":
        content = block.get("content", "")
        inner = content if isinstance(content, str) else " ".join(_block_note(b) for b in content)
        state = "error" if block.get("is_error") else "tool_result"
        return f"[{state} {block.get('tool_use_id', '')}: {inner}]"
    return f"[{kind}]"


def last_user_turn(request: dict[str, Any]) -> dict[str, Any] | None:
    """The last message with role "user", if any."""
    for msg in reversed(request.get("messages") or []):
        if msg.get("role") == "user":
            return msg
    return None


def _summary(turn: dict[str, Any] | None) -> str:
    if turn is None:
        return "(no user message)"
    content = turn.get("content", "")
    if isinstance(content, str):
        return content
    return " ".join(_block_note(b) for b in content)


def _has_tool_result(turn: dict[str, Any] | None) -> bool:
    content = (turn or {}).get("content")
    return isinstance(content, list) and any(b.get("type") == "tool_result" for b in content)


def _mentioned_tool(tools: list[dict[str, Any]], text: str) -> dict[str, Any] | None:
    for tool in tools:
        if re.search(rf"(?<![\w-]){re.escape(tool['name'])}(?![\w-])", text, re.IGNORECASE):
            return tool
    return None


def _choose_tool(request: dict[str, Any]) -> dict[str, Any] | None:
    tools = [t for t in request.get("tools") or [] if "input_schema" in t]
    choice = request.get("tool_choice") or {"type": "auto"}
    kind = choice.get("type", "auto")
    turn = last_user_turn(request)
    text = _summary(turn)
    if kind == "tool":
        tool = next((t for t in tools if t["name"] == choice.get("name")), None)
        if tool is None:
            defined = any(t.get("name") == choice.get("name") for t in request.get("tools") or [])
            raise UpstreamError(
                400,
                "invalid_request_error",
                f"tool_choice names the tool {choice.get('name')!r}, which is "
                + (
                    "an Anthropic-defined tool: the offline provider calls only custom tools"
                    if defined
                    else "not in tools"
                ),
            )
        return tool
    if kind == "any":
        if not tools:
            raise UpstreamError(
                400, "invalid_request_error", "tool_choice 'any' needs at least one tool"
            )
        return _mentioned_tool(tools, text) or tools[0]
    if kind == "auto" and tools and not _has_tool_result(turn):
        return _mentioned_tool(tools, text)
    return None


def _thinking_block(request: dict[str, Any], digest: str) -> tuple[dict[str, Any] | None, int]:
    """The offline `thinking` block the request asks for (None when it asks for none) and the
    tokens it spends."""
    config = request.get("thinking") or {}
    if config.get("type") not in ("enabled", "adaptive"):
        return None, 0
    budget = config.get("budget_tokens")
    limit = request.get("max_tokens")
    if isinstance(budget, int) and isinstance(limit, int):
        limit = min(budget, limit)
    elif isinstance(budget, int):
        limit = budget
    text = (
        f"{LABEL}No model was called, so no reasoning happened. This block stands in for "
        f"extended thinking ({config['type']}"
        + (f", budget {budget} tokens" if isinstance(budget, int) else "")
        + f') and restates the last user turn: "{_summary(last_user_turn(request))}".'
    )
    if isinstance(limit, int):
        text = truncate_tokens(text, max(limit, 0))
    spent = count_tokens(text)
    if config.get("display") == "omitted":
        text = ""
    signature = "offline-" + hashlib.sha256(f"thinking:{digest}".encode()).hexdigest()
    return {"type": "thinking", "thinking": text, "signature": signature}, spent


def _cut(text: str, request: dict[str, Any]) -> tuple[str, str, str | None]:
    """(text, stop_reason, stop_sequence) after stop sequences and max_tokens."""
    limit = request.get("max_tokens")
    spans = token_spans(text)
    limit_end = len(text) if limit is None or len(spans) <= limit else None
    if limit_end is None:
        limit = cast(int, limit)  # limit_end is None only under a limit
        limit_end = spans[limit - 1][1] if limit > 0 else 0
    best: tuple[int, int, str] | None = None  # (end, start, sequence)
    for seq in request.get("stop_sequences") or []:
        start = text.find(seq) if seq else -1
        if start >= 0 and (best is None or (start + len(seq), start) < best[:2]):
            best = (start + len(seq), start, seq)
    if best is not None and best[0] <= limit_end:
        return text[: best[1]], "stop_sequence", best[2]
    if limit_end < len(text):
        return text[:limit_end], "max_tokens", None
    return text, "end_turn", None


class OfflineProvider:
    """Answers locally and deterministically; see the module docstring for the rules."""

    name = "offline"
    offline = True

    def __init__(self, *, tokens_per_chunk: int = 4, json_chunk_size: int = 10) -> None:
        self.tokens_per_chunk = tokens_per_chunk
        self.json_chunk_size = json_chunk_size

    def reply(self, request: dict[str, Any]) -> dict[str, Any]:
        """The Message for `request` (pure: no I/O, same input → same output)."""
        digest = request_digest(request)
        input_tokens = count_input_tokens(request)
        tool = _choose_tool(request)
        model = request.get("model", "offline")
        thinking, thought = _thinking_block(request, digest)
        before = [thinking] if thinking is not None else []
        if tool is not None:
            tool_input = example_value(tool.get("input_schema") or {"type": "object"})
            block = {
                "type": "tool_use",
                "id": f"toolu_{digest[:24]}",
                "name": tool["name"],
                "input": tool_input,
            }
            output = thought + count_tokens(tool["name"]) + count_tokens(json.dumps(tool_input))
            return message(
                id=f"msg_offline_{digest[:24]}",
                model=model,
                content=[*before, block],
                stop_reason="tool_use",
                usage=empty_usage(input_tokens, output),
            )
        full = (
            f'{LABEL}No model was called. You said: "{_summary(last_user_turn(request))}" '
            f"(request {digest[:12]}, {input_tokens} input tokens)."
        )
        left = request.get("max_tokens")
        if isinstance(left, int):
            left = max(left - thought, 0)
        text, stop_reason, stop_sequence = _cut(full, {**request, "max_tokens": left})
        return message(
            id=f"msg_offline_{digest[:24]}",
            model=model,
            content=[*before, *([{"type": "text", "text": text}] if text else [])],
            stop_reason=stop_reason,
            stop_sequence=stop_sequence,
            usage=empty_usage(input_tokens, thought + count_tokens(text)),
        )

    async def create(self, request: dict[str, Any]) -> dict[str, Any]:
        """The offline reply as a Message."""
        return self.reply(request)

    async def stream(self, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """The offline reply as Anthropic stream events (several deltas per block)."""
        msg = self.reply(request)
        for event in message_events(msg, self.tokens_per_chunk, self.json_chunk_size):
            yield event

    async def aclose(self) -> None:
        """Nothing to release."""
