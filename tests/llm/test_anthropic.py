"""The anthropic upstream against a local fake that speaks Anthropic's wire protocol."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from agentyard.llm import UpstreamError, accumulate, make_provider
from tests.llm.fakes import FakeAnthropic, Reply, ToolCall
from tests.llm.helpers import anthropic_for, collect, free_port, run, types, user

TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def test_create_sends_the_request_with_our_key(fake_anthropic, sleeps):
    fake_anthropic.enqueue(Reply(text="Bonjour!", input_tokens=12, output_tokens=3))
    request = user("Say hi in French", system="Be brief.", temperature=0.2, stream=False)
    msg = run(anthropic_for(fake_anthropic, sleeps).create(request))
    assert msg["content"] == [{"type": "text", "text": "Bonjour!"}]
    assert msg["stop_reason"] == "end_turn"
    assert msg["usage"]["input_tokens"] == 12 and msg["usage"]["output_tokens"] == 3
    [sent] = fake_anthropic.requests
    assert sent.path == "/v1/messages" and sent.method == "POST"
    assert sent.headers["x-api-key"] == fake_anthropic.api_key
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["content-type"] == "application/json"
    assert "authorization" not in sent.headers
    assert sent.json == {k: v for k, v in request.items() if k != "stream"}
    assert sleeps.delays == []


def test_create_with_tool_use_and_model_override(fake_anthropic):
    fake_anthropic.enqueue(Reply(text=None, tool_calls=[ToolCall("get_weather", {"city": "Oslo"})]))
    provider = anthropic_for(fake_anthropic, model="claude-upstream-model")
    request = user("Weather in Oslo?", tools=[TOOL], tool_choice={"type": "any"})
    msg = run(provider.create(request))
    assert msg["stop_reason"] == "tool_use"
    assert msg["content"] == [
        {"type": "tool_use", "id": "toolu_fake00", "name": "get_weather", "input": {"city": "Oslo"}}
    ]
    sent = fake_anthropic.requests[0].json
    assert sent["model"] == "claude-upstream-model"
    assert sent["tools"] == [TOOL] and sent["tool_choice"] == {"type": "any"}


def test_stream_passes_the_events_through_unchanged(fake_anthropic):
    reply = Reply(text="The quick brown fox jumps over the lazy dog.", chunk=5)
    expected = fake_anthropic.stream_events(reply, "claude-test")
    fake_anthropic.enqueue(reply)
    events = run(collect(anthropic_for(fake_anthropic).stream(user("go"))))
    assert events == expected
    assert types(events)[:3] == ["message_start", "content_block_start", "ping"]
    sent = fake_anthropic.requests[0]
    assert sent.json == {**user("go"), "stream": True}
    assert sent.headers["x-api-key"] == fake_anthropic.api_key
    assert sent.headers["accept"] == "text/event-stream"
    assert accumulate(events)["content"][0]["text"] == reply.text


def test_stream_tool_use_partial_json(fake_anthropic):
    fake_anthropic.enqueue(
        Reply(
            text="Let me check.", tool_calls=[ToolCall("get_weather", {"city": "Lima"}, "toolu_1")]
        )
    )
    events = run(collect(anthropic_for(fake_anthropic).stream(user("w?", tools=[TOOL]))))
    pieces = [
        e["delta"]["partial_json"]
        for e in events
        if e["type"] == "content_block_delta" and e["delta"]["type"] == "input_json_delta"
    ]
    assert json.loads("".join(pieces)) == {"city": "Lima"}
    msg = accumulate(events)
    assert [b["type"] for b in msg["content"]] == ["text", "tool_use"]
    assert msg["content"][1]["input"] == {"city": "Lima"} and msg["stop_reason"] == "tool_use"


def test_stream_is_not_buffered(fake_anthropic):
    """Events reach us while the upstream is still holding the rest of the stream back."""
    gate = threading.Event()
    fake_anthropic.enqueue(
        Reply(text="one two three four five six", chunk=4, hold_after=4, hold=gate)
    )

    async def scenario():
        seen = []
        async for event in anthropic_for(fake_anthropic).stream(user("go")):
            seen.append(event)
            if len(seen) == 4:
                assert not gate.is_set()
                gate.set()
        return seen

    events = run(scenario())
    assert gate.is_set() and events[-1] == {"type": "message_stop"}


def test_529_twice_then_success_is_retried(fake_anthropic, sleeps):
    fake_anthropic.enqueue(Reply.error(529), Reply.error(529), Reply(text="finally"))
    msg = run(anthropic_for(fake_anthropic, sleeps).create(user("hi")))
    assert msg["content"][0]["text"] == "finally"
    assert fake_anthropic.attempts == 3
    assert len(sleeps.delays) == 2
    assert 0.00075 <= sleeps.delays[0] <= 0.001 and 0.0015 <= sleeps.delays[1] <= 0.002


def test_retries_give_up_after_max_retries(fake_anthropic, sleeps):
    fake_anthropic.enqueue(*[Reply.error(529, message="Overloaded")] * 4)
    with pytest.raises(UpstreamError) as info:
        run(anthropic_for(fake_anthropic, sleeps, max_retries=2).create(user("hi")))
    err = info.value
    assert (err.status, err.error_type, err.message) == (529, "overloaded_error", "Overloaded")
    assert err.retryable and fake_anthropic.attempts == 3 and len(sleeps.delays) == 2
    assert err.body() == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


def test_retry_after_is_honoured(fake_anthropic, sleeps):
    fake_anthropic.enqueue(
        Reply.error(429, headers={"retry-after": "0.25"}),
        Reply.error(500, headers={"retry-after-ms": "120"}),
        Reply(text="ok"),
    )
    run(anthropic_for(fake_anthropic, sleeps).create(user("hi")))
    assert sleeps.delays == [0.25, 0.12]


def test_retry_after_really_waits(fake_anthropic):
    fake_anthropic.enqueue(Reply.error(429, headers={"retry-after": "0.3"}), Reply(text="ok"))
    started = time.monotonic()
    run(anthropic_for(fake_anthropic).create(user("hi")))
    gap = fake_anthropic.requests[1].at - fake_anthropic.requests[0].at
    assert gap >= 0.3 and time.monotonic() - started < 3


def test_a_long_retry_after_is_reported_not_waited_for(fake_anthropic, sleeps):
    fake_anthropic.enqueue(Reply.error(429, headers={"retry-after": "120"}))
    with pytest.raises(UpstreamError) as info:
        run(anthropic_for(fake_anthropic, sleeps).create(user("hi")))
    assert (info.value.status, info.value.error_type) == (429, "rate_limit_error")
    assert info.value.retry_after == 120 and sleeps.delays == []


def test_400_is_mapped_and_not_retried(fake_anthropic, sleeps):
    fake_anthropic.enqueue(Reply.error(400, message="messages: at least one message is required"))
    with pytest.raises(UpstreamError) as info:
        run(anthropic_for(fake_anthropic, sleeps).create(user("hi")))
    err = info.value
    assert (err.status, err.error_type, err.retryable) == (400, "invalid_request_error", False)
    assert err.message == "messages: at least one message is required"
    assert fake_anthropic.attempts == 1 and sleeps.delays == []


def test_our_rejected_key_is_a_gateway_failure_not_the_callers(fake_anthropic, sleeps):
    provider = make_provider(
        "anthropic", base_url=fake_anthropic.url, api_key="wrong", sleep=sleeps, timeout=5
    )
    with pytest.raises(UpstreamError) as info:
        run(provider.create(user("hi")))
    err = info.value
    assert (err.status, err.error_type, err.upstream_status) == (502, "api_error", 401)
    assert "x-api-key" not in err.message and fake_anthropic.attempts == 1


@pytest.mark.parametrize(
    ("reply", "status", "error_type", "retried"),
    [
        (Reply.error(404, message="model: claude-nope"), 404, "not_found_error", False),
        (Reply.error(404, body="<html>Not Found</html>"), 502, "api_error", False),
        (Reply.error(413, body="Request Entity Too Large"), 413, "request_too_large", False),
        (Reply.error(403), 502, "api_error", False),
        (Reply.error(402, "billing_error"), 502, "api_error", False),
        (Reply.error(500), 500, "api_error", True),
        (Reply.error(503, body="upstream connect error"), 502, "api_error", True),
        (Reply.error(500, headers={"x-should-retry": "false"}), 500, "api_error", False),
    ],
)
def test_error_mapping(fake_anthropic, sleeps, reply, status, error_type, retried):
    fake_anthropic.enqueue(reply, reply, reply)
    with pytest.raises(UpstreamError) as info:
        run(anthropic_for(fake_anthropic, sleeps).create(user("hi")))
    assert (info.value.status, info.value.error_type) == (status, error_type)
    assert fake_anthropic.attempts == (3 if retried else 1)


def test_read_timeout(fake_anthropic, sleeps):
    fake_anthropic.enqueue(Reply(delay=1.0), Reply(delay=1.0))
    started = time.monotonic()
    with pytest.raises(UpstreamError) as info:
        run(anthropic_for(fake_anthropic, sleeps, timeout=0.15, max_retries=1).create(user("hi")))
    assert (info.value.status, info.value.error_type) == (504, "api_error")
    assert info.value.retryable and fake_anthropic.attempts == 2
    assert time.monotonic() - started < 0.9


def test_connection_refused(sleeps):
    provider = make_provider(
        "anthropic",
        base_url=f"http://127.0.0.1:{free_port()}",
        api_key="k",
        sleep=sleeps,
        max_retries=1,
        timeout=2,
    )
    with pytest.raises(UpstreamError) as info:
        run(provider.create(user("hi")))
    assert (info.value.status, info.value.error_type, info.value.retryable) == (
        502,
        "api_error",
        True,
    )
    assert len(sleeps.delays) == 1


def test_stream_retries_before_the_first_event(fake_anthropic, sleeps):
    first_error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    fake_anthropic.enqueue(Reply.error(529), Reply(events=[first_error]), Reply(text="streamed"))
    events = run(collect(anthropic_for(fake_anthropic, sleeps).stream(user("hi"))))
    assert accumulate(events)["content"][0]["text"] == "streamed"
    assert fake_anthropic.attempts == 3 and len(sleeps.delays) == 2


def test_stream_error_before_any_event_raises(fake_anthropic, sleeps):
    fake_anthropic.enqueue(Reply.error(400, message="bad"))
    with pytest.raises(UpstreamError) as info:
        run(collect(anthropic_for(fake_anthropic, sleeps).stream(user("hi"))))
    assert (info.value.status, info.value.error_type) == (400, "invalid_request_error")


@pytest.mark.parametrize("fault", ["break_after", "end_after"])
def test_mid_stream_failure_ends_with_an_error_event(fake_anthropic, sleeps, fault):
    fake_anthropic.enqueue(Reply(text="a long answer that will not finish", chunk=3, **{fault: 5}))
    events = run(collect(anthropic_for(fake_anthropic, sleeps).stream(user("hi"))))
    assert types(events) == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "error",
    ]
    assert events[-1]["error"]["type"] == "api_error"
    assert fake_anthropic.attempts == 1 and sleeps.delays == []


def test_mid_stream_timeout_ends_with_an_error_event(fake_anthropic):
    gate = threading.Event()
    fake_anthropic.enqueue(Reply(text="slow slow slow slow", chunk=4, hold_after=4, hold=gate))
    try:
        events = run(collect(anthropic_for(fake_anthropic, timeout=0.2).stream(user("hi"))))
    finally:
        gate.set()
    assert types(events)[-1] == "error" and len(events) == 5
    assert "timed out" in events[-1]["error"]["message"]


def test_an_upstream_error_event_mid_stream_passes_through(fake_anthropic):
    reply = Reply(text="partial answer here")
    events = fake_anthropic.stream_events(reply, "m")[:4]
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    fake_anthropic.enqueue(Reply(events=[*events, overloaded]))
    got = run(collect(anthropic_for(fake_anthropic).stream(user("hi"))))
    assert got == [*events, overloaded]


def test_closing_a_stream_early_releases_it(fake_anthropic):
    fake_anthropic.enqueue(Reply(text="many many words in this reply", chunk=2))

    async def scenario():
        provider = anthropic_for(fake_anthropic)
        stream = provider.stream(user("hi"))
        first = await anext(stream)
        await stream.aclose()
        msg = await provider.create(user("again"))
        await provider.aclose()
        return first, msg

    first, msg = run(scenario())
    assert first["type"] == "message_start" and msg["type"] == "message"


def test_concurrent_requests_share_the_provider(fake_anthropic):
    async def scenario():
        provider = anthropic_for(fake_anthropic)
        return await asyncio.gather(*(provider.create(user(f"n{i}")) for i in range(5)))

    assert len(run(scenario())) == 5 and fake_anthropic.attempts == 5


def test_fake_serves_many_providers():
    """The fake is reusable as a context manager with its own key (for gateway tests)."""
    with FakeAnthropic(api_key="other-key") as fake:
        msg = run(anthropic_for(fake).create(user("hi")))
        assert msg["content"][0]["text"] == fake.default_reply.text
        assert fake.requests[0].headers["x-api-key"] == "other-key"
