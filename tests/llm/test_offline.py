"""The offline provider: deterministic, labelled, honours max_tokens, stops and tool_choice."""

from __future__ import annotations

import json
import re

import anthropic
import jsonschema
import pytest
from pydantic import TypeAdapter

from agentyard.llm import (
    OfflineProvider,
    Provider,
    UpstreamError,
    accumulate,
    count_input_tokens,
    count_tokens,
    make_provider,
)
from tests.llm.fakes import FakeAnthropic, Reply
from tests.llm.helpers import collect, run, types, user

WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "City and country"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location"],
    },
}
SEARCH = {
    "name": "search_docs",
    "description": "Search the documentation",
    "input_schema": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 3},
            "limit": {"type": "integer", "minimum": 1, "maximum": 50},
            "filters": {
                "type": "object",
                "properties": {
                    "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
                    "since": {"type": "string", "format": "date"},
                    "exact": {"type": "boolean"},
                },
                "required": ["tags"],
                "additionalProperties": False,
            },
        },
        "required": ["query", "filters"],
    },
}
EVENT_ORDER = re.compile(
    r"message_start content_block_start ping (content_block_delta )+content_block_stop "
    r"(content_block_start (content_block_delta )+content_block_stop )*"
    r"message_delta message_stop"
)
STREAM_EVENT = TypeAdapter(anthropic.types.RawMessageStreamEvent)


def reply(request: dict) -> dict:
    return run(OfflineProvider().create(request))


def stream(request: dict) -> list[dict]:
    return run(collect(OfflineProvider().stream(request)))


def text_of(msg: dict) -> str:
    return "".join(b["text"] for b in msg["content"] if b["type"] == "text")


def test_is_a_labelled_provider():
    provider = make_provider("offline")
    assert isinstance(provider, Provider)
    assert provider.name == "offline" and provider.offline is True
    msg = reply(user("Hello there"))
    assert text_of(msg).startswith("[offline] ")
    assert msg["type"] == "message" and msg["role"] == "assistant"
    assert msg["model"] == "claude-test"
    assert msg["stop_reason"] == "end_turn" and msg["stop_sequence"] is None
    anthropic.types.Message.model_validate(msg)


def test_same_request_same_bytes_and_different_prompts_differ():
    request = user("What is the capital of France?", system="Be brief.")
    first = json.dumps(reply(request)).encode()
    assert json.dumps(reply(json.loads(json.dumps(request)))).encode() == first
    assert json.dumps(stream(request)) == json.dumps(stream(request))
    other = reply(user("What is the capital of Spain?", system="Be brief."))
    assert text_of(other) != text_of(json.loads(first))
    assert "capital of Spain" in text_of(other)


def test_usage_comes_from_the_shared_estimator():
    request = user("Count these words, please.", system=[{"type": "text", "text": "System."}])
    msg = reply(request)
    assert msg["usage"]["input_tokens"] == count_input_tokens(request)
    assert msg["usage"]["output_tokens"] == count_tokens(text_of(msg))
    assert msg["usage"]["cache_creation_input_tokens"] == 0
    assert msg["usage"]["cache_read_input_tokens"] == 0


def test_max_tokens_cuts_the_reply():
    msg = reply(user("Tell me a very long story about dragons", max_tokens=5))
    assert msg["stop_reason"] == "max_tokens"
    assert count_tokens(text_of(msg)) == 5 == msg["usage"]["output_tokens"]
    assert text_of(msg) == "[offline] No model"
    full = reply(user("Tell me a very long story about dragons", max_tokens=4096))
    assert full["stop_reason"] == "end_turn"
    assert text_of(full).startswith(text_of(msg))


def test_stop_sequence_cuts_at_the_first_occurrence():
    msg = reply(user("alpha PINEAPPLE beta MANGO gamma", stop_sequences=["MANGO", "PINEAPPLE"]))
    assert msg["stop_reason"] == "stop_sequence"
    assert msg["stop_sequence"] == "PINEAPPLE"
    assert text_of(msg).endswith("alpha ")
    assert "PINEAPPLE" not in text_of(msg)
    events = stream(user("alpha PINEAPPLE beta", stop_sequences=["PINEAPPLE"]))
    assert events[-2]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "PINEAPPLE"}


def test_max_tokens_wins_when_reached_before_the_stop_sequence():
    msg = reply(user("one two three four five STOP", max_tokens=3, stop_sequences=["STOP"]))
    assert msg["stop_reason"] == "max_tokens" and msg["stop_sequence"] is None
    unmatched = reply(user("nothing to see", stop_sequences=["ZEBRA"]))
    assert unmatched["stop_reason"] == "end_turn"


@pytest.mark.parametrize("tool", [WEATHER, SEARCH])
@pytest.mark.parametrize("choice", ["tool", "any"])
def test_forced_tool_use_input_validates(tool, choice):
    tool_choice = {"type": "tool", "name": tool["name"]} if choice == "tool" else {"type": "any"}
    request = user(f"please use {tool['name']}", tools=[tool], tool_choice=tool_choice)
    msg = reply(request)
    assert msg["stop_reason"] == "tool_use"
    [block] = msg["content"]
    assert block["type"] == "tool_use" and block["name"] == tool["name"]
    assert re.fullmatch(r"toolu_[0-9a-f]{24}", block["id"])
    jsonschema.validate(block["input"], tool["input_schema"])
    anthropic.types.Message.model_validate(msg)
    assert reply(request) == msg


def test_tool_choice_any_prefers_the_tool_the_user_names():
    tools = [WEATHER, SEARCH]
    named = reply(user("use SEARCH_DOCS for this", tools=tools, tool_choice={"type": "any"}))
    assert named["content"][0]["name"] == "search_docs"
    unnamed = reply(user("do something", tools=tools, tool_choice={"type": "any"}))
    assert unnamed["content"][0]["name"] == "get_weather"


def test_auto_answers_with_text_unless_a_tool_is_named():
    tools = [WEATHER, SEARCH]
    plain = reply(user("How are you?", tools=tools, tool_choice={"type": "auto"}))
    assert plain["stop_reason"] == "end_turn" and plain["content"][0]["type"] == "text"
    no_choice = reply(user("How are you?", tools=tools))
    assert no_choice["content"][0]["type"] == "text"
    named = reply(user("Call get_weather for Paris", tools=tools))
    assert named["stop_reason"] == "tool_use"
    assert named["content"][0]["name"] == "get_weather"


def test_auto_answers_a_tool_result_with_text():
    call = reply(user("Call get_weather for Paris", tools=[WEATHER]))["content"][0]
    request = {
        "model": "claude-test",
        "max_tokens": 256,
        "tools": [WEATHER],
        "messages": [
            {"role": "user", "content": "Call get_weather for Paris"},
            {"role": "assistant", "content": [call]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": call["id"], "content": "18C, sunny"},
                    {"type": "text", "text": "get_weather said that"},
                ],
            },
        ],
    }
    msg = reply(request)
    assert msg["stop_reason"] == "end_turn"
    assert f"[tool_result {call['id']}: 18C, sunny]" in text_of(msg)


def test_tool_choice_none_gives_text_even_when_a_tool_is_named():
    msg = reply(user("Call get_weather", tools=[WEATHER], tool_choice={"type": "none"}))
    assert msg["content"][0]["type"] == "text" and msg["stop_reason"] == "end_turn"


def test_forcing_an_unknown_tool_is_a_400():
    with pytest.raises(UpstreamError) as info:
        reply(user("hi", tools=[WEATHER], tool_choice={"type": "tool", "name": "nope"}))
    assert (info.value.status, info.value.error_type) == (400, "invalid_request_error")
    with pytest.raises(UpstreamError):
        reply(user("hi", tool_choice={"type": "any"}))


def test_non_text_user_content_is_described():
    request = user("")
    request["messages"][0]["content"] = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
        {
            "type": "document",
            "title": "Lab report",
            "source": {"type": "text", "media_type": "text/plain", "data": "ok"},
        },
        {"type": "text", "text": "What do these show?"},
    ]
    assert '"[image] [document: Lab report] What do these show?"' in text_of(reply(request))


def test_stream_follows_anthropics_event_sequence():
    request = user("Write a few words about the sea and the sky, please.")
    events = stream(request)
    assert EVENT_ORDER.fullmatch(" ".join(types(events)))
    deltas = [e["delta"] for e in events if e["type"] == "content_block_delta"]
    assert len(deltas) >= 3 and all(d["type"] == "text_delta" for d in deltas)
    start = events[0]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    assert start["usage"]["input_tokens"] == count_input_tokens(request)
    assert events[1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    msg = reply(request)
    assert "".join(d["text"] for d in deltas) == text_of(msg)
    assert events[-2] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": msg["usage"]["output_tokens"]},
    }
    assert events[-1] == {"type": "message_stop"}
    for event in events:
        if event["type"] != "ping":
            STREAM_EVENT.validate_python(event)


def test_stream_of_a_tool_call_sends_partial_json_that_concatenates_to_the_input():
    request = user("go", tools=[SEARCH], tool_choice={"type": "tool", "name": "search_docs"})
    events = stream(request)
    assert EVENT_ORDER.fullmatch(" ".join(types(events)))
    block = events[1]["content_block"]
    assert block["type"] == "tool_use" and block["input"] == {} and block["name"] == "search_docs"
    pieces = [e["delta"]["partial_json"] for e in events if e["type"] == "content_block_delta"]
    assert len(pieces) >= 3
    assert all(e["delta"]["type"] == "input_json_delta" for e in events[3:-3])
    msg = reply(request)
    assert json.loads("".join(pieces)) == msg["content"][0]["input"]
    assert "".join(pieces) == json.dumps(msg["content"][0]["input"])
    assert events[-2]["delta"]["stop_reason"] == "tool_use"


@pytest.mark.parametrize(
    "request_",
    [
        user("Hello"),
        user("cut me short please, now", max_tokens=2),
        user("stop at the word here", stop_sequences=["here"]),
        user("x", tools=[WEATHER, SEARCH], tool_choice={"type": "any"}),
        user("stop at [offline", stop_sequences=["["]),
    ],
)
def test_stream_accumulates_to_the_same_message(request_):
    assert accumulate(stream(request_)) == reply(request_)


def test_the_official_sdk_reads_the_offline_stream():
    """Served with Anthropic framing, the events parse into the same Message in the SDK."""
    request = user("Stream this through the SDK", tools=[WEATHER])
    for req in (request, {**request, "tool_choice": {"type": "any"}}):
        events = stream(req)
        with FakeAnthropic() as fake:
            fake.enqueue(Reply(events=events))
            client = anthropic.Anthropic(base_url=fake.url, api_key=fake.api_key, max_retries=0)
            with client.messages.stream(
                model=req["model"],
                max_tokens=req["max_tokens"],
                messages=req["messages"],
                tools=req["tools"],
            ) as sdk_stream:
                final = sdk_stream.get_final_message()
        expected = anthropic.types.Message.model_validate(reply(req))
        assert final.model_dump() == expected.model_dump()


THINK = {"type": "enabled", "budget_tokens": 1024}


def test_thinking_enabled_adds_a_labelled_signed_block_first():
    provider = OfflineProvider()
    msg = provider.reply(user("Why is the sky blue?", max_tokens=2000, thinking=THINK))
    thinking, text = msg["content"]
    assert thinking["type"] == "thinking" and thinking["thinking"].startswith("[offline] ")
    assert "Why is the sky blue?" in thinking["thinking"]
    assert thinking["signature"].startswith("offline-")
    assert text["type"] == "text" and msg["stop_reason"] == "end_turn"
    spent = count_tokens(thinking["thinking"]) + count_tokens(text["text"])
    assert msg["usage"]["output_tokens"] == spent
    assert provider.reply(user("Why?", max_tokens=2000, thinking=THINK)) == provider.reply(
        user("Why?", max_tokens=2000, thinking=THINK)
    )
    for off in ({"type": "disabled"}, {"type": "between_tools"}, None):
        request = user("Why?", max_tokens=2000, **({"thinking": off} if off else {}))
        assert [b["type"] for b in provider.reply(request)["content"]] == ["text"]


def test_thinking_is_cut_at_its_budget_and_shares_max_tokens():
    provider = OfflineProvider()
    tight = provider.reply(user("Why?", max_tokens=5000, thinking={**THINK, "budget_tokens": 6}))
    assert count_tokens(tight["content"][0]["thinking"]) == 6
    assert tight["stop_reason"] == "end_turn"
    squeezed = provider.reply(user("Why?", max_tokens=20, thinking=THINK))
    assert squeezed["usage"]["output_tokens"] == 20 and squeezed["stop_reason"] == "max_tokens"
    omitted = provider.reply(
        user("Why?", max_tokens=2000, thinking={**THINK, "display": "omitted"})
    )
    assert omitted["content"][0]["thinking"] == ""
    assert omitted["content"][0]["signature"].startswith("offline-")
    adaptive = provider.reply(user("Why?", max_tokens=2000, thinking={"type": "adaptive"}))
    assert adaptive["content"][0]["type"] == "thinking"


def test_thinking_streams_as_thinking_deltas_then_one_signature_delta():
    provider = OfflineProvider(tokens_per_chunk=3)
    request = user("Tell me about insulin", max_tokens=2000, thinking=THINK)
    events = run(collect(provider.stream(request)))
    first = [e for e in events if e.get("index") == 0]
    assert first[0] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
    }
    deltas = [e["delta"]["type"] for e in first if e["type"] == "content_block_delta"]
    assert deltas[-1] == "signature_delta" and set(deltas[:-1]) == {"thinking_delta"}
    assert len(deltas) > 2 and first[-1]["type"] == "content_block_stop"
    assert accumulate(events) == provider.reply(request)
