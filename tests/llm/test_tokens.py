"""The shared token estimator."""

from __future__ import annotations

import base64

from agentyard.llm.tokens import (
    IMAGE_TOKENS,
    MESSAGE_OVERHEAD,
    PDF_PAGE_TOKENS,
    count_input_tokens,
    count_tokens,
    truncate_tokens,
)


def test_words_and_punctuation_are_tokens():
    assert count_tokens("") == 0
    assert count_tokens("Hello, world!") == 4
    assert count_tokens("  spaced   out  ") == 2
    assert count_tokens("snake_case and 42") == 3


def test_truncate_keeps_whole_tokens():
    assert truncate_tokens("Hello, world!", 2) == "Hello,"
    assert truncate_tokens("Hello, world!", 10) == "Hello, world!"
    assert truncate_tokens("Hello", 0) == ""


def test_input_tokens_cover_system_messages_and_tools():
    base = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi there"}]}
    assert count_input_tokens(base) == MESSAGE_OVERHEAD + 2
    with_system = {**base, "system": [{"type": "text", "text": "Be kind."}]}
    assert count_input_tokens(with_system) == count_input_tokens(base) + 3
    tool = {"name": "t", "description": "does", "input_schema": {"type": "object"}}
    assert count_input_tokens({**with_system, "tools": [tool]}) > count_input_tokens(with_system)
    assert count_input_tokens(with_system) == count_input_tokens(dict(with_system))


def test_blocks_images_and_documents():
    pdf = base64.b64encode(b"%PDF-1.4 /Type /Pages /Type /Page x /Type /Page y").decode()
    content = [
        {"type": "text", "text": "look"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA"}},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": pdf},
        },
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}},
        {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": [{"type": "text", "text": "ok"}],
        },
    ]
    request = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": content}]}
    expected = MESSAGE_OVERHEAD + 1 + IMAGE_TOKENS + 2 * PDF_PAGE_TOKENS + (1 + 7) + 1
    assert count_input_tokens(request) == expected
