# ruff: noqa: F811 - the fixtures come from tests.hyphen.gateway_kit
"""Standalone ReAct agents over HTTP: the offline model drives a deterministic loop, sync and
async execution, list/status/trace, previous_run_id, escalation resumed by a human, stuck
detection each way, cancellation, the allowlist, tenancy, and a real upstream (a local fake
Anthropic API)."""

from __future__ import annotations

import json
import time

import pytest

from agentyard.llm import make_provider
from tests.hyphen.fake_http import FakeHTTP
from tests.hyphen.http_kit import (  # noqa: F401 - fixtures
    Scripted,
    act,
    api,
    consumer,
    hkey,
    model,
    other,
    queue_name,
)
from tests.llm.fakes import FakeAnthropic, Reply


def action(api, name: str, **config) -> None:
    r = api.post("/actions", json={"action_name": name, "description": f"{name} it", **config})
    assert r.status_code == 201, r.text


def wait_agent(api, agent_id: str, *statuses: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"/agents/{agent_id}/status").json()
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_offline_sync_agent_calls_each_tool_then_completes(api, other, consumer):
    action(api, "summarise", kind="llm", template="Summarise {{topic}}")
    action(api, "classify", kind="llm", template="Classify {{text}}")
    body = {
        "objective": "Triage ticket 42",
        "tools": [{"type": "action", "name": "summarise"}, "classify"],
        "result_key": "triage",
    }
    r = api.post("/agents/execute", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["agent_run_id"].startswith("agent-") and out["status"] == "completed"
    assert [t["action"] for t in out["trace"]] == ["summarise", "classify", "__complete__"]
    assert all(t["success"] for t in out["trace"])
    assert out["iterations"] == 3 and "Triage ticket 42" in out["final_answer"]
    again = api.post("/agents/execute", json=body).json()
    assert [t["action_input"] for t in again["trace"]] == [t["action_input"] for t in out["trace"]]
    # list, status, trace, tenancy
    listed = api.get("/agents", params={"status": "completed"}).json()
    assert listed["total"] == 2
    assert api.get("/agents", params={"status": "paused"}).json()["agents"] == []
    trace = api.get(f"/agents/{out['agent_run_id']}/trace").json()["trace"]
    assert [t["iteration"] for t in trace] == [1, 2, 3]
    for call in (
        other.get(f"/agents/{out['agent_run_id']}/status"),
        other.get(f"/agents/{out['agent_run_id']}/trace"),
        other.delete(f"/agents/{out['agent_run_id']}"),
        other.post(f"/agents/{out['agent_run_id']}/resume", json={"message": "x"}),
    ):
        assert call.status_code == 404
    assert other.get("/agents").json()["total"] == 0
    # previous_run_id: its answer goes into the next prompt
    nxt = api.post(
        "/agents/execute",
        json={"objective": "Follow up", "previous_run_id": out["agent_run_id"]},
    ).json()
    assert nxt["previous_run_id"] == out["agent_run_id"]
    status = api.get(f"/agents/{nxt['agent_run_id']}/status").json()
    assert status["previous_run_id"] == out["agent_run_id"]
    missing = api.post("/agents/execute", json={"objective": "x", "previous_run_id": "agent-no"})
    assert missing.status_code == 404


def test_previous_run_is_in_the_prompt(api, consumer, model):
    first = api.post("/agents/execute", json={"objective": "Find the vendor"}).json()
    scripted = Scripted([act("__complete__", answer="done")])
    model.append(scripted)
    api.post(
        "/agents/execute",
        json={"objective": "Pay the vendor", "previous_run_id": first["agent_run_id"]},
    )
    prompt = scripted.requests[0]["messages"][0]["content"]
    assert first["final_answer"] in prompt and "previous_trace_summary" in prompt


def test_undeclared_tools_are_400_and_rejected_at_run_time(api, consumer, model):
    r = api.post("/agents/execute", json={"objective": "x", "tools": ["nope"]})
    assert r.status_code == 400 and "tools[0]" in r.json()["message"]
    model.append(Scripted([act("rm_rf"), act("__complete__", answer="ok")]))
    out = api.post("/agents/execute", json={"objective": "x"}).json()
    assert out["trace"][0]["success"] is False
    assert "not available" in out["trace"][0]["observation"]
    assert out["status"] == "completed"


def test_async_escalation_and_resume(api, consumer, model):
    action(api, "ping", kind="llm", template="ping")
    scripted = Scripted([act("ping", thought="same")] * 3 + [act("__complete__", answer="fixed")])
    model.append(scripted)
    r = api.post(
        "/agents/execute",
        params={"async": "true"},
        json={
            "objective": "loop",
            "tools": ["ping"],
            "on_stuck": {"iterations": 3, "action": "escalate"},
        },
    )
    assert r.status_code == 202
    agent_id = r.json()["agent_run_id"]
    paused = wait_agent(api, agent_id, "paused")
    assert api.get("/agents", params={"status": "paused"}).json()["total"] == 1
    assert paused["status"] == "paused"
    r = api.post(f"/agents/{agent_id}/resume", json={"message": "stop pinging, finish"})
    assert r.status_code == 202
    done = wait_agent(api, agent_id, "completed")
    assert done["final_answer"] == "fixed"
    assert "stop pinging, finish" in scripted.requests[-1]["messages"][0]["content"]
    again = api.post(f"/agents/{agent_id}/resume", json={"message": "late"})
    assert again.status_code == 409


@pytest.mark.parametrize("mode, status", [("fail", "failed"), ("retry_with_hint", "completed")])
def test_stuck_fail_and_hint(api, consumer, model, mode, status):
    action(api, "ping", kind="llm", template="ping")
    scripted = Scripted([act("ping", thought="same")] * 3 + [act("__complete__", answer="ok")])
    model.append(scripted)
    out = api.post(
        "/agents/execute",
        json={
            "objective": "loop",
            "tools": ["ping"],
            "on_stuck": {"iterations": 3, "action": mode, "hint": "Use another tool."},
        },
    ).json()
    assert out["status"] == status
    if mode == "fail":
        assert out["error"]["code"] == "stuck"
    else:
        assert "Use another tool." in scripted.requests[-1]["messages"][0]["content"]


def test_cancel_lets_the_tool_call_finish(api, consumer):
    with FakeHTTP() as fake:
        fake.sleep = 1.5
        action(api, "slow", kind="http", url=fake.url + "/slow")
        action(api, "after", kind="http", url=fake.url + "/after")
        r = api.post(
            "/agents/execute",
            params={"async": "true"},
            json={"objective": "x", "tools": ["slow", "after"]},
        )
        agent_id = r.json()["agent_run_id"]
        deadline = time.monotonic() + 20
        while not fake.requests:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert api.delete(f"/agents/{agent_id}").json()["status"] == "cancelled"
        time.sleep(2.5)
        assert [r["path"] for r in fake.requests] == ["/slow"]  # nothing after it ran
    assert api.get(f"/agents/{agent_id}/status").json()["status"] == "cancelled"


def test_the_same_loop_against_an_anthropic_upstream(api, consumer, model):
    action(api, "lookup", kind="llm", template="look up {{number}}")
    with FakeAnthropic() as fake:
        fake.enqueue(
            Reply(text=json.dumps(act("lookup", thought="find it", number="INV-9"))),
            Reply(text=json.dumps(act("__complete__", answer="INV-9 is paid", confidence=0.9))),
        )
        model.append(
            lambda: make_provider(
                "anthropic", base_url=fake.url, api_key=fake.api_key, max_retries=0
            )
        )
        out = api.post("/agents/execute", json={"objective": "check", "tools": ["lookup"]}).json()
        requests = [r for r in fake.requests if r.path.endswith("/v1/messages")]
    assert (out["final_answer"], out["confidence"]) == ("INV-9 is paid", 0.9)
    assert out["trace"][0]["action_input"] == {"number": "INV-9"}
    assert len(requests) >= 2 and "lookup" in requests[0].json["system"]


def test_workflow_tools_run_child_runs(api, consumer, model):
    child = {
        "actions": [
            {
                "type": "matcher",
                "properties": {"left": [{"k": 1}], "right": [{"k": 1}], "matchOn": ["k"]},
            }
        ]
    }
    wf = api.post("/workflows", json={"name": "child_flow", "definition": child}).json()
    out = api.post(
        "/agents/execute",
        json={"objective": "use the child", "tools": [{"type": "workflow", "id": wf["id"]}]},
    ).json()
    assert out["status"] == "completed"
    assert [t["action"] for t in out["trace"]] == [wf["id"], "__complete__"]
    [child_run] = out["triggered_runs"]
    assert out["trace"][0]["observation"]["status"] == "completed"
    status = api.get(f"/runs/{child_run}/status").json()
    assert status["workflow_id"] == wf["id"] and len(status["context"]["matched"]) == 1
    # the built-in tool, by name, from a (scripted) model
    model.append(
        Scripted(
            [
                act("__run_workflow__", workflow_name="child_flow", input={}),
                act("__complete__", answer="ran it"),
            ]
        )
    )
    out = api.post("/agents/execute", json={"objective": "run it by name"}).json()
    assert out["final_answer"] == "ran it" and len(out["triggered_runs"]) == 1
    assert out["trace"][0]["observation"]["status"] == "completed"
