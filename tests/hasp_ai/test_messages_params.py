"""POST /v1/messages takes the current Messages API parameters (the installed SDK's
`MessageCreateParams`), passes them to a real upstream, honours `thinking` offline, and refuses
the server tools HASP cannot offer under a BAA with 403 FEATURE_NOT_HIPAA_ELIGIBLE."""

from __future__ import annotations

import json

import anthropic
import pytest

from tests.hasp_ai.test_phi_guard import NOTE, PHI_VALUES
from tests.llm.fakes import FakeAnthropic, Reply
from tests.llm.helpers import anthropic_for

HI = [{"role": "user", "content": "Why do we measure HbA1c?"}]

# Parameters the installed SDK declares in MessageCreateParams (beyond model/max_tokens/...).
PASSED = {
    "thinking": {"type": "enabled", "budget_tokens": 2048},
    "service_tier": "standard_only",
    "metadata": {"user_id": "u-7f3a"},
    "container": "container_011CZ",
    "speed": "standard",
    "inference_geo": "us",
    "cache_control": {"type": "ephemeral"},
    "output_config": {"effort": "high"},
    "diagnostics": {"previous_message_id": None},
}


def test_sdk_parameters_reach_the_upstream(org, upstream_provider):
    with FakeAnthropic() as fake:
        fake.enqueue(Reply(text="Glycated haemoglobin shows the average over months."))
        upstream_provider(anthropic_for(fake))
        message = org.sdk().messages.create(
            model="claude-sonnet-4-6",
            max_tokens=4096,
            messages=HI,
            # Sampling parameters older SDKs declared (and the API still takes).
            extra_body={"top_k": 40, "top_p": 0.9, "temperature": 0.5},
            **PASSED,
        )
        sent = fake.requests[-1].json
    assert message.content[0].text.startswith("Glycated")
    for name, value in {**PASSED, "top_k": 40, "top_p": 0.9, "temperature": 0.5}.items():
        assert sent[name] == value, name


def test_beta_parameters_reach_the_upstream(org, upstream_provider):
    mcp = [{"type": "url", "url": "https://mcp.example.com/sse", "name": "charts"}]
    context = {"edits": [{"type": "clear_tool_uses_20250919"}]}
    with FakeAnthropic() as fake:
        fake.enqueue(Reply(text="ok"))
        upstream_provider(anthropic_for(fake))
        org.sdk().beta.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=100,
            messages=HI,
            mcp_servers=mcp,
            context_management=context,
            tools=[{"type": "mcp_toolset", "mcp_server_name": "charts"}],
            betas=["mcp-client-2025-11-20"],
        )
        sent = fake.requests[-1].json
    assert sent["mcp_servers"] == mcp and sent["context_management"] == context
    assert sent["tools"] == [{"type": "mcp_toolset", "mcp_server_name": "charts"}]


def test_anthropic_defined_client_tools_are_passed_on(org, upstream_provider):
    tools = [
        {"type": "bash_20250124", "name": "bash"},
        {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"},
        {"name": "lookup", "input_schema": {"type": "object"}},
    ]
    with FakeAnthropic() as fake:
        fake.enqueue(Reply(text="ok"))
        upstream_provider(anthropic_for(fake))
        org.sdk().messages.create(
            model="claude-sonnet-4-6", max_tokens=100, messages=HI, tools=tools
        )
        assert fake.requests[-1].json["tools"] == tools
    upstream_provider(None)  # back to the offline provider, which calls only custom tools
    offline = org.sdk().messages.create(
        model="claude-sonnet-4-6", max_tokens=100, messages=HI, tools=tools
    )
    assert offline.content[0].text.startswith("[offline]")


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
        {"type": "web_fetch_20250910", "name": "web_fetch"},
        {"type": "code_execution_20250825", "name": "code_execution"},
    ],
)
def test_server_tools_outside_the_baa_are_403(org, upstream_provider, tool):
    with FakeAnthropic() as fake:
        upstream_provider(anthropic_for(fake))
        with pytest.raises(anthropic.PermissionDeniedError) as caught:
            org.sdk().messages.create(
                model="claude-sonnet-4-6", max_tokens=100, messages=HI, tools=[tool]
            )
        counted = org.http.post(
            "/v1/messages/count_tokens",
            headers=org.headers,
            json={"model": "claude-sonnet-4-6", "messages": HI, "tools": [tool]},
        )
        assert fake.requests == []  # nothing went upstream
    body = caught.value.response.json()
    assert caught.value.status_code == 403 and body["type"] == "error"
    assert body["error"]["type"] == "permission_error"
    assert body["error"]["code"] == "FEATURE_NOT_HIPAA_ELIGIBLE"
    assert body["error"]["details"]["tool_type"] == tool["type"]
    assert counted.status_code == 403
    assert counted.json()["error"]["code"] == "FEATURE_NOT_HIPAA_ELIGIBLE"


def test_offline_thinking_is_a_labelled_block_within_budget(org):
    message = org.sdk().messages.create(
        model="claude-sonnet-4-6",
        max_tokens=3000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=HI,
    )
    thinking, text = message.content
    assert thinking.type == "thinking" and thinking.thinking.startswith("[offline]")
    assert "budget 1024 tokens" in thinking.thinking and "HbA1c" in thinking.thinking
    assert thinking.signature.startswith("offline-")
    assert text.type == "text" and text.text.startswith("[offline]")
    assert message.stop_reason == "end_turn"
    plain = org.sdk().messages.create(model="claude-sonnet-4-6", max_tokens=3000, messages=HI)
    assert [b.type for b in plain.content] == ["text"]
    assert message.usage.output_tokens > plain.usage.output_tokens  # thinking is output
    # Thinking counts toward max_tokens: with little room, the text is cut first.
    tight = org.sdk().messages.create(
        model="claude-sonnet-4-6",
        max_tokens=12,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=HI,
    )
    assert [b.type for b in tight.content] == ["thinking"] and tight.stop_reason == "max_tokens"
    assert tight.usage.output_tokens == 12


def test_offline_thinking_streams_thinking_and_signature_deltas(org):
    with org.sdk().messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=3000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=HI,
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    deltas = [e.delta.type for e in events if e.type == "content_block_delta"]
    thinking_deltas = [d for d in deltas if d == "thinking_delta"]
    assert len(thinking_deltas) > 1
    assert deltas.index("signature_delta") == len(thinking_deltas)  # after the thinking text
    assert deltas.count("signature_delta") == 1
    assert final.content[0].type == "thinking" and final.content[0].signature.startswith("offline-")
    streamed = "".join(e.thinking for e in events if e.type == "thinking")
    assert streamed == final.content[0].thinking and streamed.startswith("[offline]")


def test_thinking_sent_back_is_scanned_for_phi(org, upstream_provider):
    turns = [
        {"role": "user", "content": "Summarise the chart."},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": NOTE, "signature": "sig-1"},
                {"type": "text", "text": "Done."},
            ],
        },
        {"role": "user", "content": "Thanks, and next?"},
    ]
    with FakeAnthropic() as fake:
        fake.enqueue(Reply(text="Next is the follow-up."))
        upstream_provider(anthropic_for(fake))
        r = org.message(messages=turns)
        sent = json.dumps(fake.requests[-1].json)
        assert r.status_code == 200, r.text
        for value in PHI_VALUES:
            assert value not in sent
        assert "[PERSON_1]" in sent
        org.settings(phi_mode="block")
        blocked = org.message(messages=turns)
    assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "PHI_BLOCKED"
