"""A deterministic token estimator, shared by the offline provider and count_tokens.

It is not a real tokenizer: one token per word (run of letters/digits/underscore) and one per
other non-space character. Images count a flat `IMAGE_TOKENS`; base64 PDFs `PDF_PAGE_TOKENS`
per page found in the file. Each message adds `MESSAGE_OVERHEAD` for its role markers.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

_PIECE = re.compile(r"\w+|[^\w\s]")
_PDF_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")

IMAGE_TOKENS = 1600
PDF_PAGE_TOKENS = 1500
MESSAGE_OVERHEAD = 3


def token_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) character offsets of each token of `text`."""
    return [m.span() for m in _PIECE.finditer(text)]


def count_tokens(text: str) -> int:
    """How many tokens `text` is estimated to take."""
    return sum(1 for _ in _PIECE.finditer(text))


def truncate_tokens(text: str, limit: int) -> str:
    """`text` cut just after its `limit`-th token (the whole text when it is shorter)."""
    spans = token_spans(text)
    if len(spans) <= limit:
        return text
    return text[: spans[limit - 1][1]] if limit > 0 else ""


def _pdf_pages(data: str) -> int:
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return 1
    return max(1, len(_PDF_PAGE.findall(raw)))


def count_block_tokens(block: dict[str, Any] | str) -> int:
    """Tokens of one content block (text, image, document, tool_use, tool_result, ...)."""
    if isinstance(block, str):
        return count_tokens(block)
    kind = block.get("type")
    if kind == "text":
        return count_tokens(block.get("text", ""))
    if kind == "image":
        return IMAGE_TOKENS
    if kind == "document":
        source = block.get("source") or {}
        extra = count_tokens(block.get("title") or "") + count_tokens(block.get("context") or "")
        if source.get("type") == "text":
            return extra + count_tokens(source.get("data", ""))
        if source.get("type") == "content":
            return extra + count_content_tokens(source.get("content", ""))
        if source.get("type") == "base64":
            return extra + PDF_PAGE_TOKENS * _pdf_pages(source.get("data", ""))
        return extra + PDF_PAGE_TOKENS
    if kind == "tool_use":
        return count_tokens(block.get("name", "")) + count_tokens(
            json.dumps(block.get("input", {}), sort_keys=True)
        )
    if kind == "tool_result":
        return count_content_tokens(block.get("content", ""))
    if kind == "thinking":
        return count_tokens(block.get("thinking", ""))
    return count_tokens(json.dumps(block, sort_keys=True))


def count_content_tokens(content: str | list[Any] | None) -> int:
    """Tokens of a message `content`: a string or a list of blocks."""
    if content is None:
        return 0
    if isinstance(content, str):
        return count_tokens(content)
    return sum(count_block_tokens(block) for block in content)


def count_tool_tokens(tool: dict[str, Any]) -> int:
    """Tokens of one tool definition: name, description and input schema."""
    return (
        count_tokens(tool.get("name", ""))
        + count_tokens(tool.get("description") or "")
        + count_tokens(json.dumps(tool.get("input_schema", {}), sort_keys=True))
    )


def count_input_tokens(request: dict[str, Any]) -> int:
    """Estimated input tokens of a Messages request: system, messages and tools."""
    total = count_content_tokens(request.get("system"))
    for msg in request.get("messages") or []:
        total += MESSAGE_OVERHEAD + count_content_tokens(msg.get("content"))
    for tool in request.get("tools") or []:
        total += count_tool_tokens(tool)
    return total
