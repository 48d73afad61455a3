"""The OpenAI-compatible upstream: translation both ways, and against a local fake server."""

from __future__ import annotations

import json
import re

import anthropic
import pytest
from pydantic import TypeAdapter

from agentyard.llm import UpstreamError, accumulate, make_provider
from agentyard.llm.openai_compat import ChunkTranslator, from_openai_completion, to_openai_request
from tests.llm.fakes import Reply, ToolCall
from tests.llm.helpers import collect, openai_for, run, types, user

TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
STREAM_EVENT = TypeAdapter(anthropic.types.RawMessageStreamEvent)
EVENT_ORDER = re.compile(
    r"message_start (content_block_start (ping )?(content_block_delta )+content_block_stop )+"
    r"message_delta message_stop"
)


# ---- request translation -------------------------------------------------------------------


def test_translates_a_full_conversation():
    request = {
        "model": "claude-test",
        "max_tokens": 300,
        "system": [{"type": "text", "text": "You are terse."}, {"type": "text", "text": "Rule 2."}],
        "temperature": 0.3,
        "top_p": 0.9,
        "top_k": 40,
        "stop_sequences": ["END"],
        "metadata": {"user_id": "u-123"},
        "tools": [TOOL],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this image, and the weather?"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/jpeg", "data": "QUJD"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "text", "text": "A cat. Checking weather."},
                    {
                        "type": "tool_use",
                        "id": "call_1",
                        "name": "get_weather",
                        "input": {"city": "Rome"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "21C"},
                    {"type": "text", "text": "Thanks!"},
                ],
            },
        ],
    }
    body = to_openai_request(request)
    assert body == {
        "model": "claude-test",
        "messages": [
            {"role": "system", "content": "You are terse.\n\nRule 2."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this image, and the weather?"},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,QUJD"}},
                ],
            },
            {
                "role": "assistant",
                "content": "A cat. Checking weather.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "21C"},
            {"role": "user", "content": "Thanks!"},
        ],
        "max_tokens": 300,
        "temperature": 0.3,
        "top_p": 0.9,
        "stop": ["END"],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": TOOL["input_schema"],
                    "description": "Weather for a city",
                },
            }
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "user": "u-123",
    }


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        ({"type": "none"}, "none"),
        (
            {"type": "tool", "name": "get_weather"},
            {"type": "function", "function": {"name": "get_weather"}},
        ),
    ],
)
def test_tool_choice_mapping(choice, expected):
    body = to_openai_request(user("hi", tools=[TOOL], tool_choice=choice))
    assert body["tool_choice"] == expected
    assert "parallel_tool_calls" not in body


def test_tool_results_images_errors_and_documents():
    content = [
        {
            "type": "tool_result",
            "tool_use_id": "call_9",
            "is_error": True,
            "content": [
                {"type": "text", "text": "not found"},
                {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
            ],
        },
        {
            "type": "document",
            "title": "scan.pdf",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
        },
        {
            "type": "document",
            "title": "Notes",
            "source": {"type": "text", "media_type": "text/plain", "data": "n1"},
        },
    ]
    body = to_openai_request(user("x") | {"messages": [{"role": "user", "content": content}]})
    assert body["messages"] == [
        {"role": "tool", "tool_call_id": "call_9", "content": "Error: not found"},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}},
                {
                    "type": "file",
                    "file": {
                        "filename": "scan.pdf",
                        "file_data": "data:application/pdf;base64,JVBE",
                    },
                },
                {"type": "text", "text": "Notes\n\nn1"},
            ],
        },
    ]


def test_streaming_asks_for_usage_and_server_tools_are_refused():
    body = to_openai_request(user("hi"), model="gpt-test", stream=True)
    assert body["model"] == "gpt-test"
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    with pytest.raises(UpstreamError) as info:
        to_openai_request(user("hi", tools=[{"type": "web_search_20250305", "name": "web_search"}]))
    assert info.value.status == 400


# ---- response translation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("finish", "stop_reason"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
        (None, "end_turn"),
    ],
)
def test_finish_reasons(finish, stop_reason):
    data = {
        "id": "chatcmpl-1",
        "model": "gpt-x",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": finish}
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2},
    }
    msg = from_openai_completion(data, user("hi"))
    assert msg["stop_reason"] == stop_reason and msg["stop_sequence"] is None
    anthropic.types.Message.model_validate(msg)


def test_tool_calls_usage_and_odd_arguments():
    data = {
        "id": "chatcmpl-2",
        "model": "gpt-x",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_a",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"a": 1}'},
                        },
                        {
                            "id": "call_b",
                            "type": "function",
                            "function": {"name": "g", "arguments": "oops"},
                        },
                        {
                            "id": "call_c",
                            "type": "function",
                            "function": {"name": "h", "arguments": ""},
                        },
                    ],
                },
            }
        ],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 20,
            "prompt_tokens_details": {"cached_tokens": 64},
        },
    }
    msg = from_openai_completion(data, user("hi"))
    assert msg["content"] == [
        {"type": "tool_use", "id": "call_a", "name": "f", "input": {"a": 1}},
        {"type": "tool_use", "id": "call_b", "name": "g", "input": {"_arguments": "oops"}},
        {"type": "tool_use", "id": "call_c", "name": "h", "input": {}},
    ]
    assert msg["usage"] == {
        "input_tokens": 36,
        "output_tokens": 20,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 64,
    }


def test_refusal_and_vllm_stop_reason():
    refused = {
        "choices": [
            {"message": {"content": None, "refusal": "I can't help."}, "finish_reason": "stop"}
        ]
    }
    msg = from_openai_completion(refused, user("x"))
    assert msg["stop_reason"] == "refusal" and msg["content"][0]["text"] == "I can't help."
    assert msg["usage"]["output_tokens"] > 0  # estimated when the server sends none
    vllm = {
        "choices": [{"message": {"content": "a"}, "finish_reason": "stop", "stop_reason": "END"}]
    }
    msg = from_openai_completion(vllm, user("x", stop_sequences=["END"]))
    assert (msg["stop_reason"], msg["stop_sequence"]) == ("stop_sequence", "END")


def test_chunk_translator_handles_late_names_and_missing_usage():
    translator = ChunkTranslator(user("x"))
    chunks = [
        {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant"}}]},
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "call_z", "function": {"arguments": '{"q"'}}
                        ]
                    },
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "function": {"name": "find", "arguments": ": 1}"}}
                        ]
                    },
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    events = [e for chunk in chunks for e in translator.feed(chunk)] + translator.finish()
    msg = accumulate(events)
    assert msg["content"] == [
        {"type": "tool_use", "id": "call_z", "name": "find", "input": {"q": 1}}
    ]
    assert msg["stop_reason"] == "tool_use" and msg["usage"]["output_tokens"] > 0


# ---- against the fake server ---------------------------------------------------------------


def test_create_sends_translated_request_with_bearer_key(fake_openai, sleeps):
    fake_openai.enqueue(Reply(text="Hola!", input_tokens=8, output_tokens=2))
    provider = openai_for(fake_openai, sleeps, model="gpt-4o-mini")
    request = user("Say hi in Spanish", system="Be brief.", stop_sequences=["\n\n"], temperature=0)
    msg = run(provider.create(request))
    assert msg["content"] == [{"type": "text", "text": "Hola!"}]
    assert msg["stop_reason"] == "end_turn" and msg["model"] == "gpt-4o-mini"
    assert msg["usage"]["input_tokens"] == 8 and msg["usage"]["output_tokens"] == 2
    [sent] = fake_openai.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {fake_openai.api_key}"
    assert "x-api-key" not in sent.headers
    assert sent.json == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Say hi in Spanish"},
        ],
        "max_tokens": 256,
        "temperature": 0,
        "stop": ["\n\n"],
    }


def test_create_with_tool_calls(fake_openai):
    fake_openai.enqueue(
        Reply(text=None, tool_calls=[ToolCall("get_weather", {"city": "Kyiv"}, "call_k")])
    )
    request = user("weather?", tools=[TOOL], tool_choice={"type": "tool", "name": "get_weather"})
    msg = run(openai_for(fake_openai).create(request))
    assert msg["stop_reason"] == "tool_use"
    assert msg["content"] == [
        {"type": "tool_use", "id": "call_k", "name": "get_weather", "input": {"city": "Kyiv"}}
    ]
    sent = fake_openai.requests[0].json
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


def test_stream_text(fake_openai):
    fake_openai.enqueue(
        Reply(text="Streaming from the OpenAI fake works.", chunk=5, output_tokens=9)
    )
    request = user("go")
    events = run(collect(openai_for(fake_openai).stream(request)))
    assert EVENT_ORDER.fullmatch(" ".join(types(events)))
    assert types(events)[:3] == ["message_start", "content_block_start", "ping"]
    deltas = [e["delta"] for e in events if e["type"] == "content_block_delta"]
    assert len(deltas) >= 3 and all(d["type"] == "text_delta" for d in deltas)
    assert events[-2] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"input_tokens": 11, "output_tokens": 9},
    }
    msg = accumulate(events)
    assert msg["content"] == [{"type": "text", "text": "Streaming from the OpenAI fake works."}]
    assert fake_openai.requests[0].json["stream_options"] == {"include_usage": True}
    for event in events:
        if event["type"] != "ping":
            STREAM_EVENT.validate_python(event)
    anthropic.types.Message.model_validate(msg)


def test_stream_text_then_tool_calls(fake_openai):
    calls = [
        ToolCall("get_weather", {"city": "Baku"}, "call_1"),
        ToolCall("get_weather", {"city": "Riga"}, "call_2"),
    ]
    fake_openai.enqueue(Reply(text="Checking both.", tool_calls=calls))
    events = run(collect(openai_for(fake_openai).stream(user("w?", tools=[TOOL]))))
    assert EVENT_ORDER.fullmatch(" ".join(types(events)))
    starts = [e for e in events if e["type"] == "content_block_start"]
    assert [s["index"] for s in starts] == [0, 1, 2]
    assert starts[1]["content_block"] == {
        "type": "tool_use",
        "id": "call_1",
        "name": "get_weather",
        "input": {},
    }
    for index, city in ((1, "Baku"), (2, "Riga")):
        pieces = [
            e["delta"]["partial_json"]
            for e in events
            if e["type"] == "content_block_delta" and e["index"] == index
        ]
        assert len(pieces) > 1 and json.loads("".join(pieces)) == {"city": city}
    msg = accumulate(events)
    assert msg["stop_reason"] == "tool_use"
    assert [b["type"] for b in msg["content"]] == ["text", "tool_use", "tool_use"]


def test_retries_then_success(fake_openai, sleeps):
    fake_openai.enqueue(
        Reply.error(503), Reply.error(429, headers={"retry-after": "0.05"}), Reply(text="ok")
    )
    msg = run(openai_for(fake_openai, sleeps).create(user("hi")))
    assert msg["content"][0]["text"] == "ok"
    assert fake_openai.attempts == 3 and len(sleeps.delays) == 2 and sleeps.delays[1] == 0.05


def test_stream_retries_before_the_first_event(fake_openai, sleeps):
    fake_openai.enqueue(Reply.error(500), Reply(text="after retry"))
    events = run(collect(openai_for(fake_openai, sleeps).stream(user("hi"))))
    assert accumulate(events)["content"][0]["text"] == "after retry"
    assert fake_openai.attempts == 2


@pytest.mark.parametrize(
    ("reply", "status", "error_type", "attempts"),
    [
        (Reply.error(400, message="Invalid 'messages'"), 400, "invalid_request_error", 1),
        (Reply.error(422, message="bad"), 400, "invalid_request_error", 1),
        (
            Reply.error(404, "model_not_found", "The model does not exist"),
            404,
            "not_found_error",
            1,
        ),
        (Reply.error(429, "insufficient_quota", "You exceeded your quota"), 502, "api_error", 1),
        (Reply.error(429), 429, "rate_limit_error", 3),
        (Reply.error(503), 529, "overloaded_error", 3),
        (Reply.error(500), 500, "api_error", 3),
        (Reply.error(502, body="Bad Gateway"), 502, "api_error", 3),
    ],
)
def test_error_mapping(fake_openai, sleeps, reply, status, error_type, attempts):
    fake_openai.enqueue(reply, reply, reply)
    with pytest.raises(UpstreamError) as info:
        run(openai_for(fake_openai, sleeps).create(user("hi")))
    assert (info.value.status, info.value.error_type) == (status, error_type)
    assert fake_openai.attempts == attempts


def test_our_rejected_key_is_a_gateway_failure(fake_openai):
    provider = make_provider("openai", base_url=fake_openai.base_url, api_key="nope", timeout=5)
    with pytest.raises(UpstreamError) as info:
        run(provider.create(user("hi")))
    assert (info.value.status, info.value.error_type, info.value.upstream_status) == (
        502,
        "api_error",
        401,
    )


def test_timeout(fake_openai, sleeps):
    fake_openai.enqueue(Reply(delay=1.0))
    with pytest.raises(UpstreamError) as info:
        run(openai_for(fake_openai, sleeps, timeout=0.15, max_retries=0).create(user("hi")))
    assert (info.value.status, info.value.error_type, info.value.retryable) == (
        504,
        "api_error",
        True,
    )


@pytest.mark.parametrize("fault", ["break_after", "end_after"])
def test_mid_stream_failure_ends_with_an_error_event(fake_openai, sleeps, fault):
    fake_openai.enqueue(Reply(text="this answer gets cut off somewhere", chunk=4, **{fault: 4}))
    events = run(collect(openai_for(fake_openai, sleeps).stream(user("hi"))))
    assert types(events)[:3] == ["message_start", "content_block_start", "ping"]
    assert events[-1]["type"] == "error" and events[-1]["error"]["type"] == "api_error"
    assert "message_stop" not in types(events) and fake_openai.attempts == 1


def test_mid_stream_error_chunk(fake_openai):
    fake_openai.enqueue(Reply(text="abc"))
    # an error object in the middle of the stream, as some compatible servers send
    original = fake_openai.chunks

    def chunks(reply, model, include_usage):
        frames = list(original(reply, model, include_usage))
        yield from frames[:2]
        yield b'data: {"error": {"message": "model crashed", "type": "server_error"}}\n\n'

    fake_openai.chunks = chunks
    events = run(collect(openai_for(fake_openai).stream(user("hi"))))
    assert events[-1] == {
        "type": "error",
        "error": {"type": "api_error", "message": "openai upstream failed: model crashed"},
    }
