"""POST /v1/ai/chat: native envelope, kept conversations, HASP's SSE event taxonomy."""

from __future__ import annotations

import json


def chat(org, **body):
    return org.http.post("/v1/ai/chat", headers=org.headers, json=body)


def events(org, **body) -> list[dict]:
    with org.http.stream("POST", "/v1/ai/chat", headers=org.headers, json=body) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        frames = [f for f in r.read().decode().split("\n\n") if f.strip()]
    out = []
    for frame in frames:
        lines = dict(line.split(": ", 1) for line in frame.split("\n"))
        data = json.loads(lines["data"])
        assert lines["event"] == data["type"] and lines["id"] == data["id"]
        assert data["id"].startswith("evt_") and data["object"] == "event"
        assert data["api_version"] == "2026-04-01" and isinstance(data["created"], int)
        out.append(data)
    return out


def test_non_streaming_envelope(org):
    r = chat(org, message="What does HbA1c measure?", stream=False)
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True
    assert body["data"]["message"]["id"].startswith("msg_")
    assert body["data"]["message"]["role"] == "assistant"
    assert "HbA1c" in body["data"]["message"]["content"]
    assert body["data"]["conversation_id"].startswith("conv_")
    meta = body["meta"]
    assert meta["request_id"] == r.headers["request-id"]
    assert meta["request_id"][4:] == body["data"]["message"]["id"][4:]
    assert meta["usage"]["model"] == "claude-sonnet-4-6"
    assert meta["usage"]["sonnet_equivalent_tokens"] == (
        meta["usage"]["input_tokens"] + meta["usage"]["output_tokens"]
    )
    assert meta["phi"] == {
        "mode": "redact",
        "detected": False,
        "action": "none",
        "entity_types": [],
        "counts": {},
        "redaction_count": 0,
    }
    assert meta["provider"] == {"name": "offline", "offline": True}


def test_stream_is_the_default_and_follows_the_taxonomy(org):
    got = events(org, message="Explain triage in one line")
    kinds = [e["type"] for e in got]
    assert kinds[:3] == ["run.created", "run.started", "message.created"]
    assert kinds[-3:] == ["message.completed", "usage.updated", "run.completed"]
    assert set(kinds[3:-3]) == {"message.delta"}
    request_id = got[0]["data"]["request_id"]
    assert got[1]["data"] == {"request_id": request_id, "message_id": "msg_" + request_id[4:]}
    text = "".join(e["data"]["delta"]["text"] for e in got if e["type"] == "message.delta")
    assert got[-3]["data"]["message"]["content"] == text
    assert got[-2]["data"]["usage"]["output_tokens"] > 0
    assert got[-1]["data"]["stop_reason"] == "end_turn"
    assert got[-1]["data"]["conversation_id"] == got[0]["data"]["conversation_id"]


def test_conversation_history_is_kept_and_sent_upstream_redacted(org):
    first = chat(org, message="My name is Margaret Okafor.", stream=False).json()
    conversation = first["data"]["conversation_id"]
    second = chat(
        org, message="What did I just tell you?", conversation_id=conversation, stream=False
    )
    assert second.status_code == 200
    assert second.json()["data"]["conversation_id"] == conversation
    record = org.http.get(
        f"/v1/ai/messages/{second.json()['meta']['request_id']}", headers=org.headers
    ).json()["data"]
    assert record["conversation_id"] == conversation and record["surface"] == "native"
    sent = record["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert "[PERSON_1]" in sent[0]["content"] and "Okafor" not in json.dumps(record)
    # The bare ULID finds the same record.
    bare = org.http.get(f"/v1/ai/messages/{record['id']}", headers=org.headers)
    assert bare.json()["data"]["request_id"] == record["request_id"]


def test_store_false_keeps_no_texts(org):
    r = chat(org, message="Keep this private", stream=False, store=False).json()
    record = org.http.get(f"/v1/ai/messages/{r['meta']['request_id']}", headers=org.headers)
    data = record.json()["data"]
    assert data["stored"] is False and data["messages"] is None and data["output"] is None
    follow = chat(org, message="again", conversation_id=r["data"]["conversation_id"], stream=False)
    assert follow.status_code == 404  # nothing was kept, not even the conversation


def test_unknown_or_foreign_conversation_is_404(org, other_org):
    theirs = chat(other_org, message="hello", stream=False).json()["data"]["conversation_id"]
    for conversation in (theirs, "conv_01M800000000000000000000ZZ", "nonsense"):
        r = chat(org, message="hi", conversation_id=conversation, stream=False)
        assert r.status_code == 404, conversation
        assert r.json()["error"]["code"] == "RESOURCE_NOT_FOUND"
        assert r.json()["meta"]["request_id"] == r.headers["request-id"]


def test_records_are_org_scoped(org, other_org):
    theirs = chat(other_org, message="hello", stream=False).json()["meta"]["request_id"]
    assert org.http.get(f"/v1/ai/messages/{theirs}", headers=org.headers).status_code == 404
