"""POST /v1/messages driven by the official Anthropic SDK: only the base URL changes."""

from __future__ import annotations

import json

import anthropic
import pytest
from jsonschema import validate

from tests.llm.fakes import FakeAnthropic, Reply
from tests.llm.helpers import anthropic_for

WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
}


def test_create_returns_an_anthropic_message(org):
    client = org.sdk()
    raw = client.messages.with_raw_response.create(
        model="claude-sonnet-4-6",
        max_tokens=100,
        system="Be brief.",
        messages=[{"role": "user", "content": "What is an ECG?"}],
    )
    message = raw.parse()
    assert raw.headers["request-id"].startswith("req_")
    assert raw.headers["x-agentyard-provider"] == "offline"
    assert message.id.startswith("msg_") and message.id[4:] == raw.headers["request-id"][4:]
    assert message.type == "message" and message.role == "assistant"
    assert message.model == "claude-sonnet-4-6"
    assert message.content[0].type == "text"
    assert message.content[0].text.startswith("[offline]")
    assert "What is an ECG?" in message.content[0].text
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert message.usage.cache_read_input_tokens == 0


def test_max_tokens_and_stop_sequences_are_honoured(org):
    client = org.sdk()
    short = client.messages.create(
        model="claude-haiku-4-5", max_tokens=3, messages=[{"role": "user", "content": "hello"}]
    )
    assert short.stop_reason == "max_tokens" and short.usage.output_tokens <= 3
    stopped = client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=200,
        stop_sequences=["banana"],
        messages=[{"role": "user", "content": "apple banana cherry"}],
    )
    assert stopped.stop_reason == "stop_sequence" and stopped.stop_sequence == "banana"
    assert "banana" not in stopped.content[0].text and "cherry" not in stopped.content[0].text


def test_stream_text_and_final_message(org):
    client = org.sdk()
    with client.messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=200,
        messages=[{"role": "user", "content": "Tell me about insulin"}],
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) > 1
    assert "".join(pieces) == final.content[0].text
    assert final.id.startswith("msg_") and final.stop_reason == "end_turn"


def test_stream_event_sequence_is_anthropics(org):
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 100,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    with org.http.stream("POST", "/v1/messages", headers=org.headers, json=body) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        frames = [f for f in r.read().decode().split("\n\n") if f.strip()]
    kinds = [f.split("\n")[0].removeprefix("event: ") for f in frames]
    assert kinds[:3] == ["message_start", "content_block_start", "ping"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(kinds[3:-3]) == {"content_block_delta"}
    for frame, kind in zip(frames, kinds, strict=True):  # data carries the same type
        assert json.loads(frame.split("\ndata: ", 1)[1])["type"] == kind


def test_forced_tool_use(org):
    client = org.sdk()
    message = client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=200,
        tools=[WEATHER],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=[{"role": "user", "content": "Weather in Lisbon?"}],
    )
    assert message.stop_reason == "tool_use"
    call = message.content[-1]
    assert call.type == "tool_use" and call.name == "get_weather" and call.id.startswith("toolu_")
    validate(call.input, WEATHER["input_schema"])
    # The conversation goes on with the tool's result.
    follow = client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=200,
        tools=[WEATHER],
        messages=[
            {"role": "user", "content": "Weather in Lisbon?"},
            {"role": "assistant", "content": message.content},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "21 C"}],
            },
        ],
    )
    assert follow.stop_reason == "end_turn"


def test_streamed_tool_use_input_arrives_as_json_deltas(org):
    with org.sdk().messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=200,
        tools=[WEATHER],
        tool_choice={"type": "any"},
        messages=[{"role": "user", "content": "get_weather for Porto"}],
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert "input_json" in kinds
    validate(final.content[-1].input, WEATHER["input_schema"])


def test_count_tokens_and_models(org):
    client = org.sdk()
    counted = client.messages.count_tokens(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": "one two three"}]
    )
    created = client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=10,
        messages=[{"role": "user", "content": "one two three"}],
    )
    assert counted.input_tokens == created.usage.input_tokens > 0
    ids = [m.id for m in client.models.list()]
    assert ids == ["claude-sonnet-4-6", "claude-haiku-4-5"]  # no Opus without the opt-in
    assert client.models.retrieve("claude-haiku-4-5").display_name == "Claude Haiku 4.5"
    org.settings(opus_enabled=True)
    assert "claude-opus-4-6" in [m.id for m in client.models.list()]


@pytest.mark.parametrize(
    ("case", "exception", "status"),
    [
        ("unknown parameter", anthropic.BadRequestError, 400),
        ("bad key", anthropic.AuthenticationError, 401),
        ("no scope", anthropic.PermissionDeniedError, 403),
        ("opus not enabled", anthropic.PermissionDeniedError, 403),
        ("unknown model", anthropic.NotFoundError, 404),
    ],
)
def test_errors_raise_the_sdks_exception(org, case, exception, status):
    key = {"bad key": "wa_live_" + "0" * 32, "no scope": org.key_with("control:read")}.get(case)
    client = org.sdk(key)
    kwargs = {
        "model": {"unknown model": "claude-nope-1", "opus not enabled": "claude-opus-4-6"}.get(
            case, "claude-sonnet-4-6"
        ),
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}],
    }
    if case == "unknown parameter":
        kwargs["extra_body"] = {"frequency_penalty": 1}
    with pytest.raises(exception) as caught:
        client.messages.create(**kwargs)
    err = caught.value
    assert err.status_code == status
    assert err.body["type"] == "error" or err.body.get("type") in {
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "not_found_error",
    }
    assert err.response.headers["request-id"].startswith("req_")
    codes = {
        "unknown parameter": "UNSUPPORTED_PARAMETER",
        "bad key": "INVALID_API_KEY",
        "no scope": "MISSING_SCOPE",
        "opus not enabled": "OPUS_NOT_ENABLED",
        "unknown model": "RESOURCE_NOT_FOUND",
    }
    assert err.response.json()["error"]["code"] == codes[case]


def test_baa_required_is_402(fresh_org):
    with pytest.raises(anthropic.APIStatusError) as caught:
        fresh_org.sdk().messages.create(
            model="claude-sonnet-4-6", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.status_code == 402
    assert caught.value.response.json()["error"] == {
        "type": "billing_error",
        "message": caught.value.response.json()["error"]["message"],
        "code": "BAA_REQUIRED",
    }


def test_rate_limit_is_429_with_headers(org, monkeypatch):
    from dataclasses import replace

    from agentyard.core import runtime

    monkeypatch.setattr(
        runtime.current(), "settings", replace(runtime.settings(), hasp_requests_per_minute=2)
    )
    client = org.sdk(org.key_with("ai:chat"))
    ok = client.models.with_raw_response.list()
    assert ok.headers["X-RateLimit-Limit-Requests"] == "2"
    assert ok.headers["X-RateLimit-Remaining-Requests"] == "1"
    client.models.list()
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.models.list()
    response = caught.value.response
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "RATE_LIMITED"
    assert response.headers["X-RateLimit-Remaining-Requests"] == "0"


def test_upstream_overload_is_503_and_sdk_raises(org, upstream_provider):
    with FakeAnthropic() as fake:
        fake.enqueue(Reply.error(529), Reply.error(529), Reply.error(529))
        upstream_provider(anthropic_for(fake, max_retries=0))
        with pytest.raises(anthropic.InternalServerError) as caught:
            org.sdk().messages.create(
                model="claude-sonnet-4-6",
                max_tokens=10,
                messages=[{"role": "user", "content": "hi"}],
            )
    assert caught.value.status_code == 503
    assert caught.value.response.json()["error"]["type"] == "overloaded_error"


def test_anthropic_upstream_receives_the_request_and_streams_through(org, upstream_provider):
    with FakeAnthropic() as fake:
        fake.enqueue(Reply(text="Upstream says hello there"))
        upstream_provider(anthropic_for(fake))
        with org.sdk().messages.stream(
            model="claude-sonnet-4-6", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        sent = fake.requests[-1]
    assert text == "Upstream says hello there"
    assert final.id.startswith("msg_") and final.model == "claude-sonnet-4-6"
    assert sent.json["messages"] == [{"role": "user", "content": "hi"}]
    assert sent.json["stream"] is True


def test_openai_compatible_upstream_behind_the_anthropic_surface(org, upstream_provider):
    from tests.llm.fakes import FakeOpenAI
    from tests.llm.helpers import openai_for

    with FakeOpenAI() as fake:
        fake.enqueue(Reply(text="Translated upstream reply"), Reply(text="Streamed reply here"))
        upstream_provider(openai_for(fake))
        client = org.sdk()
        message = client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=40,
            system="Be brief.",
            messages=[{"role": "user", "content": "hello"}],
        )
        with client.messages.stream(
            model="claude-sonnet-4-6", max_tokens=40, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            streamed = "".join(stream.text_stream)
        sent = fake.requests[0].json
    assert message.content[0].text == "Translated upstream reply"
    assert message.stop_reason == "end_turn" and message.id.startswith("msg_")
    assert streamed == "Streamed reply here"
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["max_tokens"] == 40
