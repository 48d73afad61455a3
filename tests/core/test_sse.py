"""core/sse: frame bytes, comments, heartbeats, the Accept check and Last-Event-ID."""

from __future__ import annotations

import asyncio
import json

import pytest
from starlette.datastructures import Headers

from agentyard.core import sse
from agentyard.llm.sse import encode_data, encode_event


def test_frame_lines_in_order():
    assert sse.frame("x") == b"data: x\n\n"
    assert sse.frame("x", event="ping") == b"event: ping\ndata: x\n\n"
    assert sse.frame("x", event="e", id="evt_1") == b"event: e\nid: evt_1\ndata: x\n\n"
    assert sse.frame("x", event="e", id=7, id_first=True) == b"id: 7\nevent: e\ndata: x\n\n"
    assert sse.frame("x", id=3) == b"id: 3\ndata: x\n\n"


def test_frame_splits_multi_line_data():
    assert sse.frame("a\nb\r\nc\rd") == b"data: a\ndata: b\ndata: c\ndata: d\n\n"
    assert sse.frame("") == b"data: \n\n"
    assert sse.frame("end\n") == b"data: end\ndata: \n\n"


def test_frame_serialises_non_strings_as_json():
    value = {"a": [1, "é"], "b": None}
    assert sse.frame(value) == f"data: {json.dumps(value)}\n\n".encode()


def test_the_surfaces_wire_formats_are_unchanged():
    """The three encoders that existed before core/sse, byte for byte."""
    body = {"id": "evt_1", "object": "event", "type": "run.started", "data": {"t": "é"}}
    hasp = f"event: run.started\nid: evt_1\ndata: {json.dumps(body)}\n\n".encode()
    assert sse.frame(json.dumps(body), event="run.started", id="evt_1") == hasp
    message = {"id": "msg_1", "payload": {"n": 1}}
    aisp = f"id: 5\nevent: message\ndata: {json.dumps(message)}\n\n".encode()
    assert sse.frame(message, event="message", id=5, id_first=True) == aisp
    event = {"type": "content_block_delta", "delta": {"text": "é\n"}}
    compact = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    assert encode_event(event) == f"event: content_block_delta\ndata: {compact}\n\n".encode()
    assert encode_data("[DONE]") == b"data: [DONE]\n\n"
    assert encode_data({"a": 1}) == b'data: {"a":1}\n\n'


def test_comment_and_heartbeat():
    assert sse.comment("stream open") == b": stream open\n\n"
    assert sse.HEARTBEAT == b": heartbeat\n\n"


def test_response_headers():
    async def frames():
        yield b"data: x\n\n"

    r = sse.response(frames(), headers={"X-Extra": "1"})
    assert r.media_type == "text/event-stream"
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["x-accel-buffering"] == "no"
    assert r.headers["x-extra"] == "1"


def _collect(frames, interval, until):
    async def scenario():
        got = []
        stream = sse.with_heartbeat(frames(), interval)
        async for item in stream:
            got.append(item)
            if until(got):
                await stream.aclose()
                break
        return got

    return asyncio.run(scenario())


def test_heartbeats_fill_idle_gaps_after_the_first_frame():
    async def frames():
        await asyncio.sleep(0.15)  # slower than the interval: no heartbeat before the opening
        yield b": open\n\n"
        await asyncio.sleep(0.25)
        yield b"data: 1\n\n"

    got = _collect(frames, 0.1, lambda got: False)
    assert got[0] == b": open\n\n" and got[-1] == b"data: 1\n\n"
    assert got[1:-1] and set(got[1:-1]) == {sse.HEARTBEAT}


def test_closing_the_heartbeat_stream_closes_the_source():
    state = {"closed": False}

    async def frames():
        try:
            yield b": open\n\n"
            await asyncio.sleep(10)
            yield b"never"
        finally:
            state["closed"] = True

    got = _collect(frames, 0.05, lambda got: len(got) >= 3)
    assert got == [b": open\n\n", sse.HEARTBEAT, sse.HEARTBEAT]
    assert state["closed"]


@pytest.mark.parametrize(
    "accept",
    [None, "", "text/event-stream", "*/*", "text/*", "application/json;q=0.9, */*;q=0.1"],
)
def test_accepts_event_stream(accept):
    assert sse.accepts_event_stream(accept)


@pytest.mark.parametrize(
    "accept", ["application/json", "text/html, application/*", "text/event-stream;q=0", "*/*;q=x"]
)
def test_refuses_what_excludes_event_stream(accept):
    assert not sse.accepts_event_stream(accept)


def test_require_event_stream_raises_the_surfaces_error():
    refusal = ValueError("426")
    sse.require_event_stream(Headers(raw=[]), refusal)
    ok = Headers(raw=[(b"accept", b"application/json"), (b"accept", b"text/*")])
    sse.require_event_stream(ok, refusal)  # repeated headers read as one list
    with pytest.raises(ValueError, match="426"):
        sse.require_event_stream(Headers({"accept": "application/json"}), refusal)


def test_last_event_id():
    assert sse.last_event_id(Headers({})) is None
    assert sse.last_event_id(Headers({"last-event-id": ""})) is None
    assert sse.last_event_id(Headers({"Last-Event-ID": "12"})) == "12"
    assert sse.last_event_id(Headers({"X-Last-Event-ID": "9"})) == "9"
    both = Headers({"Last-Event-ID": "3", "X-Last-Event-ID": "9"})
    assert sse.last_event_id(both) == "3"
