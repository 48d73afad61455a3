"""The PHI guard on the inference path: redact (default), block, allow; fail closed."""

from __future__ import annotations

import json

import pytest

from agentyard.phi.errors import PhiScanError
from agentyard.phi.guard import get_guard
from tests.llm.fakes import FakeAnthropic, Reply
from tests.llm.helpers import anthropic_for

NOTE = "Patient Margaret Okafor (MRN 00482913) was seen on 03/14/2026; call 617-555-0143."
PHI_VALUES = ["Margaret Okafor", "00482913", "617-555-0143"]


def record(org, message_id: str) -> dict:
    r = org.http.get(f"/v1/ai/messages/{message_id}", headers=org.headers)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_redact_mode_sends_placeholders_and_restores_the_reply(org, upstream_provider):
    with FakeAnthropic() as fake:
        # The model answers with the placeholders it was given.
        fake.enqueue(Reply(text="Noted: [PERSON_1] has MRN [MEDICAL_RECORD_NUMBER_1]."))
        upstream_provider(anthropic_for(fake))
        r = org.message(NOTE)
        sent = json.dumps(fake.requests[-1].json)
    assert r.status_code == 200, r.text
    for value in PHI_VALUES:
        assert value not in sent  # the provider never saw the PHI
    assert "[PERSON_1]" in sent and "[MEDICAL_RECORD_NUMBER_1]" in sent
    assert r.json()["content"][0]["text"] == "Noted: Margaret Okafor has MRN 00482913."
    stored = json.dumps(record(org, r.json()["id"]))
    for value in PHI_VALUES:
        assert value not in stored  # raw PHI is never stored
    data = record(org, r.json()["id"])
    assert data["phi"]["mode"] == "redact" and data["phi"]["action"] == "redacted"
    assert {"PERSON", "MEDICAL_RECORD_NUMBER"} <= set(data["phi"]["entity_types"])
    assert data["phi"]["redaction_count"] >= 3


def test_streamed_reply_is_restored_even_when_placeholders_are_split(org, upstream_provider):
    with FakeAnthropic() as fake:
        fake.enqueue(
            Reply(text="Dear [PERSON_1], chart [MEDICAL_RECORD_NUMBER_1] is open.", chunk=3)
        )
        upstream_provider(anthropic_for(fake))
        with org.sdk().messages.stream(
            model="claude-sonnet-4-6", max_tokens=100, messages=[{"role": "user", "content": NOTE}]
        ) as stream:
            text = "".join(stream.text_stream)
    assert text == "Dear Margaret Okafor, chart 00482913 is open."


def test_offline_echo_of_a_redacted_note_comes_back_whole(org):
    # The offline provider echoes what it received (placeholders); delivery restores them.
    reply = org.message(NOTE).json()["content"][0]["text"]
    assert NOTE in reply
    with org.sdk().messages.stream(
        model="claude-sonnet-4-6", max_tokens=200, messages=[{"role": "user", "content": NOTE}]
    ) as stream:
        assert NOTE in "".join(stream.text_stream)


def test_tool_use_input_is_restored(org, upstream_provider):
    tool = {
        "name": "book_visit",
        "description": "Book a clinic visit",
        "input_schema": {"type": "object", "properties": {"patient": {"type": "string"}}},
    }
    with FakeAnthropic() as fake:
        from tests.llm.fakes import ToolCall

        fake.enqueue(
            Reply(text=None, tool_calls=[ToolCall("book_visit", {"patient": "[PERSON_1]"})])
        )
        upstream_provider(anthropic_for(fake))
        r = org.message(NOTE, tools=[tool])
    assert r.status_code == 200, r.text
    assert r.json()["content"][-1]["input"] == {"patient": "Margaret Okafor"}


def test_block_mode_refuses_with_the_entity_types(org, upstream_provider):
    org.settings(phi_mode="block")
    with FakeAnthropic() as fake:
        upstream_provider(anthropic_for(fake))
        r = org.message(NOTE)
        assert fake.requests == []
        fake.enqueue(Reply(text="About 60 to 100 beats per minute."))
        assert org.message("What is a normal resting heart rate?").status_code == 200
    assert r.status_code == 403
    error = r.json()["error"]
    assert error["code"] == "PHI_BLOCKED" and error["type"] == "permission_error"
    assert {"PERSON", "MEDICAL_RECORD_NUMBER"} <= set(error["details"]["entity_types"])
    native = org.http.post(
        "/v1/ai/chat", headers=org.headers, json={"message": NOTE, "stream": False}
    )
    assert native.status_code == 403 and native.json()["error"]["code"] == "PHI_BLOCKED"
    assert native.json()["success"] is False and native.json()["meta"]["request_id"]


def test_allow_mode_sends_text_unchanged_but_stores_no_phi(org, upstream_provider):
    org.settings(phi_mode="allow")
    with FakeAnthropic() as fake:
        fake.enqueue(Reply(text="Margaret Okafor is booked."))
        upstream_provider(anthropic_for(fake))
        r = org.message(NOTE)
        sent = json.dumps(fake.requests[-1].json)
    assert "Margaret Okafor" in sent
    data = record(org, r.json()["id"])
    assert data["phi"]["action"] == "allowed" and data["phi"]["detected"] is True
    assert "Margaret Okafor" not in json.dumps(data)


def test_phi_in_a_tool_schema_is_refused_in_every_mode(org):
    tool = {
        "name": "lookup",
        "description": "Find the chart of John Whitaker, MRN 00482913",
        "input_schema": {"type": "object"},
    }
    for mode in ("redact", "allow"):
        org.settings(phi_mode=mode)
        r = org.message("hello", tools=[tool])
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "PHI_IN_TOOL_SCHEMA"


@pytest.mark.parametrize("failure", [PhiScanError("boom"), TimeoutError("slow")])
def test_scanner_failure_fails_closed(org, upstream_provider, monkeypatch, failure):
    def broken(*args, **kwargs):
        if isinstance(failure, TimeoutError):
            from agentyard.phi.errors import PhiScanTimeoutError

            raise PhiScanTimeoutError("PHI scan timed out")
        raise failure

    with FakeAnthropic() as fake:
        upstream_provider(anthropic_for(fake))
        monkeypatch.setattr(get_guard(), "analyze_many", broken)
        r = org.message("Anything at all")
        assert fake.requests == []  # nothing went upstream
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "INFERENCE_UNAVAILABLE"
    usage = org.http.get("/v1/usage", headers=org.headers).json()["data"]
    assert usage["credits"]["used"] == 0 and usage["credits"]["reserved"] == 0
