"""The ReAct loop step: offline determinism, allowlist, built-in tools, each stuck mode,
pausing for a human, and the loop against a local fake Anthropic upstream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from agentyard import flows
from agentyard.core.store import connection
from agentyard.flows.react import detect_stuck
from agentyard.llm import make_provider
from tests.flows import steps
from tests.flows.conftest import records, start, trace, wait_status
from tests.kit.scripted_llm import Scripted, act
from tests.llm.fakes import FakeAnthropic, Reply

TOOLS = [
    {
        "name": "lookup_invoice",
        "description": "Find an invoice",
        "input_schema": {
            "type": "object",
            "properties": {"number": {"type": "string"}},
            "required": ["number"],
        },
    },
    {
        "name": "notify",
        "description": "Tell someone",
        "input_schema": {
            "type": "object",
            "properties": {"to": {"type": "string"}, "count": {"type": "integer"}},
            "required": ["to", "count"],
        },
    },
]


def agent(**props: Any) -> dict:
    return {
        "steps": [
            {
                "type": "react",
                "output_key": "agent",
                "props": {"objective": "Reconcile {{ input.what }}", "tools": TOOLS, **props},
            }
        ]
    }


@pytest.fixture
def model() -> Iterator[dict]:
    steps.tool_calls.clear()
    yield steps.MODEL
    steps.MODEL["factory"] = flows.react.default_provider


def test_offline_drives_the_loop_deterministically(consumer, engine, tenant, model):
    outputs = []
    for _ in range(2):
        run = wait_status(start(engine, tenant, agent(), {"what": "March"}), "completed")
        outputs.append(run.context["agent"])
    out = outputs[0]
    assert out == outputs[1]
    assert out["completed"] is True and out["stop_reason"] == "complete"
    assert [it["action"] for it in out["trace"]] == ["lookup_invoice", "notify", "__complete__"]
    assert isinstance(out["trace"][0]["action_input"]["number"], str)  # from the schema
    assert isinstance(out["trace"][1]["action_input"]["count"], int)
    assert "Reconcile March" in out["final_answer"]
    assert "lookup_invoice" in out["final_answer"] and "notify" in out["final_answer"]
    names = [c[0] for c in steps.tool_calls]
    assert names == ["lookup_invoice", "notify"] * 2
    assert steps.tool_calls[0][2].endswith(":0:1")  # <run>:<path>:<iteration>


def test_undeclared_tools_are_rejected_and_builtins_work(consumer, engine, tenant, model):
    model["factory"] = Scripted(
        [
            act("delete_everything"),
            act("__store_memory__", key="total", value=42),
            act("__log_progress__", message="halfway"),
            act("__retrieve_memory__", key="total"),
            act("__run_workflow__", workflow_id="wf-1"),
            act("__complete__", answer="done", confidence=0.8),
        ]
    )
    run = wait_status(start(engine, tenant, agent(), {"what": "x"}), "completed")
    out = run.context["agent"]
    first = out["trace"][0]
    assert first["rejected"] is True and "not available" in first["observation"]
    assert [it["observation"] for it in out["trace"][1:5]] == [
        "stored under 'total'",
        "logged",
        42,
        {"workflow": "wf-1", "status": "completed"},
    ]
    assert (out["final_answer"], out["confidence"]) == ("done", 0.8)
    assert steps.tool_calls == []  # the rejected tool never ran
    assert "agent_progress" in [e.kind for e in trace(run.id)]


def test_max_iterations_ends_the_loop(consumer, engine, tenant, model):
    model["factory"] = Scripted([act("lookup_invoice", number=str(i)) for i in range(10)])
    run = wait_status(start(engine, tenant, agent(max_iterations=3)), "completed")
    out = run.context["agent"]
    assert (out["completed"], out["stop_reason"], out["iterations"]) == (False, "max_iterations", 3)


def test_stuck_repeating_an_action_fails(consumer, engine, tenant, model):
    model["factory"] = Scripted([act("lookup_invoice", number="7")])
    run = wait_status(start(engine, tenant, agent(on_stuck="fail")), "failed")
    assert run.error["code"] == "stuck"
    assert "same action" in run.error["message"]
    assert len(steps.tool_calls) == 3


def test_stuck_alternating_with_a_hint_goes_on(consumer, engine, tenant, model):
    scripted = Scripted(
        [act("lookup_invoice", number="1"), act("notify", to="a", count=1)] * 2
        + [act("__complete__", answer="ok")]
    )
    model["factory"] = scripted
    run = wait_status(start(engine, tenant, agent(on_stuck="retry_with_hint")), "completed")
    assert run.context["agent"]["final_answer"] == "ok"
    last_prompt = scripted.requests[-1]["messages"][0]["content"]
    assert "Hint: You look stuck (alternating between 'lookup_invoice' and 'notify')" in last_prompt
    assert "agent_stuck" in [e.kind for e in trace(run.id)]


def test_stuck_repeating_thoughts_escalates_to_a_human(consumer, engine, tenant, model):
    scripted = Scripted(
        [
            act("lookup_invoice", thought="hmm", number="1"),
            act("lookup_invoice", thought="hmm", number="2"),
            act("lookup_invoice", thought="hmm", number="3"),
            act("__complete__", answer="with help"),
        ]
    )
    model["factory"] = scripted
    run_id = start(engine, tenant, agent(on_stuck="escalate"))
    run = wait_status(run_id, "paused")
    assert run.pause_kind == "escalation"
    assert "same thought" in run.pause_payload["reason"]
    with connection():
        flows.resume(run_id, "0", {"answer": "use invoice 3"})
    run = wait_status(run_id, "completed")
    out = run.context["agent"]
    assert out["final_answer"] == "with help"
    assert "Human input" in out["trace"][2]["observation"]
    assert "use invoice 3" in scripted.requests[-1]["messages"][0]["content"]
    assert len(steps.tool_calls) == 3  # nothing ran twice across the pause
    assert records(run_id)["0"].attempt == 2


def test_pause_for_human_takes_the_answer_as_the_observation(consumer, engine, tenant, model):
    model["factory"] = Scripted(
        [
            act("__pause_for_human__", question="Which vendor?"),
            act("__complete__", answer="vendor known"),
        ]
    )
    run_id = start(engine, tenant, agent())
    run = wait_status(run_id, "paused")
    assert (run.pause_kind, run.pause_payload["question"]) == ("human", "Which vendor?")
    with connection():
        flows.resume(run_id, "0", "ACME")
    out = wait_status(run_id, "completed").context["agent"]
    assert out["trace"][0]["observation"] == "Human input: ACME"


def test_a_non_json_answer_becomes_an_error_observation(consumer, engine, tenant, model):
    model["factory"] = Scripted(["I think I will look it up", act("__complete__", answer="a")])
    out = wait_status(start(engine, tenant, agent()), "completed").context["agent"]
    assert out["trace"][0]["action"] is None and "JSON" in out["trace"][0]["observation"]


def test_the_detector_each_way():
    same = [{"action": "a", "action_input": {"x": 1}, "thought": str(i)} for i in range(3)]
    assert "same action" in detect_stuck(same)
    ab = [{"action": n, "action_input": {}, "thought": str(i)} for i, n in enumerate("abab")]
    assert "alternating" in detect_stuck(ab)
    thoughts = [{"action": "a", "action_input": {"i": i}, "thought": "same"} for i in range(3)]
    assert "same thought" in detect_stuck(thoughts)
    fine = [{"action": "a", "action_input": {"i": i}, "thought": str(i)} for i in range(5)]
    assert detect_stuck(fine) is None


def test_the_loop_against_a_fake_anthropic_upstream(consumer, engine, tenant, model):
    with FakeAnthropic() as fake:
        fake.enqueue(
            Reply(text=json.dumps(act("lookup_invoice", thought="find it", number="INV-9"))),
            Reply(
                text="Sure! "
                + json.dumps(act("__complete__", answer="INV-9 is paid", confidence=0.9))
            ),
        )
        model["factory"] = lambda: make_provider(
            "anthropic", base_url=fake.url, api_key=fake.api_key, max_retries=0
        )
        run = wait_status(start(engine, tenant, agent(model="claude-test")), "completed")
        requests = [r for r in fake.requests if r.path.endswith("/v1/messages")]
    out = run.context["agent"]
    assert (out["final_answer"], out["confidence"]) == ("INV-9 is paid", 0.9)
    assert steps.tool_calls[0][:2] == ("lookup_invoice", {"number": "INV-9"})
    assert len(requests) == 2
    body = requests[1].json
    assert body["model"] == "claude-test"
    assert "lookup_invoice" in body["system"] and "__complete__" in body["system"]
    assert "Observation: " in body["messages"][0]["content"]
    assert requests[0].headers["x-api-key"] == fake.api_key


def test_cancelling_an_agent_lets_the_tool_call_finish_and_stops_the_loop(
    consumer, engine, tenant, model
):
    import threading
    import time

    started, release = threading.Event(), threading.Event()

    def slow_call(ctx, name, args, key):
        steps.tool_calls.append((name, args, key))
        started.set()
        release.wait(10)
        return "slow result"

    scripted = Scripted([act("lookup_invoice", number=str(i)) for i in range(10)])
    model["factory"] = scripted
    react_step = steps.ENGINE.steps["react"]
    original = react_step.call_tool
    react_step.call_tool = slow_call
    try:
        run_id = start(engine, tenant, agent(max_iterations=10))
        assert started.wait(10)
        with connection():
            assert flows.cancel(run_id)
        release.set()
        time.sleep(0.5)
        run = wait_status(run_id, "cancelled")
    finally:
        react_step.call_tool = original
        release.set()
    deadline = time.monotonic() + 5
    while records(run_id)["0"].status != "completed" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert records(run_id)["0"].output["stop_reason"] == "cancelled"
    assert len(steps.tool_calls) == 1
    assert run.status == "cancelled"
