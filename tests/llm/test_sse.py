"""SSE parsing and Anthropic frame encoding."""

from __future__ import annotations

from agentyard.llm.sse import encode_data, encode_event, parse_sse
from tests.llm.helpers import run


async def _parse(text: str) -> list:
    async def lines():
        for line in text.splitlines():
            yield line

    return [e async for e in parse_sse(lines())]


def test_named_events_multiline_data_comments_and_ids():
    text = (
        ": keep-alive comment\r\n"
        "event: message_start\r\n"
        'data: {"type":"message_start"}\r\n'
        "\r\n"
        "id: 7\n"
        "data:first\n"
        "data: second\n"
        "\n"
        "event: empty\n"
        "\n"
        "data: unterminated\n"
    )
    events = run(_parse(text))
    assert [(e.event, e.data, e.id) for e in events] == [
        ("message_start", '{"type":"message_start"}', None),
        ("message", "first\nsecond", "7"),
    ]
    assert events[0].json() == {"type": "message_start"}


def test_encoders_round_trip():
    frame = encode_event({"type": "ping"})
    assert frame == b'event: ping\ndata: {"type":"ping"}\n\n'
    assert encode_data("[DONE]") == b"data: [DONE]\n\n"
    events = run(_parse((frame + encode_data({"a": "é"})).decode()))
    assert [(e.event, e.json()) for e in events] == [
        ("ping", {"type": "ping"}),
        ("message", {"a": "é"}),
    ]
