# ruff: noqa: F811 - the fixtures come from tests.hyphen.gateway_kit
"""Hyphen workflows on the flows engine, through the domain functions: the docs'
invoice reconciliation (matcher -> react agent -> approval), http actions with secrets,
a bounded concurrent foreach, conditions, forms with TTLs and reminders, stuck agents."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from agentyard import flows
from agentyard.core import clock
from agentyard.core.errors import ApiError
from agentyard.core.store import connection
from agentyard.hyphen import actions, agents, approvals, workflows
from tests.hyphen.engine_kit import (  # noqa: F401 - fixtures
    Scripted,
    act,
    consumer,
    events,
    model,
    org,
    private_ok,
    queue_name,
    secrets_store,
    tenant,
    wait_event,
    wait_status,
)
from tests.hyphen.fake_http import FakeHTTP
from tests.hyphen.test_matcher import INVOICES, PAYMENTS


@pytest.fixture
def fake() -> FakeHTTP:
    with FakeHTTP() as server:
        yield server


def register(org_id: str, name: str, kind: str, **config) -> None:
    with connection():
        actions.create(
            org_id,
            actions.ActionSpec(
                action_name=name, kind=kind, description=f"{name} tool", config=config
            ),
        )


def workflow(org_id: str, definition: dict, name: str = "wf") -> str:
    with connection():
        return workflows.create(org_id, workflows.WorkflowSpec(name, definition)).id


def execute(org_id: str, workflow_id: str, data: dict) -> str:
    with connection():
        return workflows.execute(org_id, workflow_id, data).id


def status(org_id: str, run_id: str) -> dict:
    with connection():
        return workflows.status(org_id, run_id)


RECONCILIATION = {
    "condition": {"greaterThan": ["@input.invoices.length", 0]},
    "actions": [
        {
            "type": "matcher",
            "properties": {
                "left": "@input.invoices",
                "right": "@input.payments",
                "matchOn": ["po_number", "vendor_id"],
                "tolerance": 0.02,
                "dateWindowDays": 5,
                "fuzzyThreshold": 60,
                "descriptionKey": "vendor_name",
                "outputMatched": "reconciled",
                "outputUnmatchedLeft": "unmatched_invoices",
                "outputUnmatchedRight": "unmatched_payments",
            },
        },
        {
            "type": "loop",
            "filter": {"condition": {"greaterThan": [{"length": "@unmatched_invoices"}, 0]}},
            "properties": {
                "mode": "foreach",
                "items_path": "@unmatched_invoices",
                "item_variable_name": "exception",
                "collect_results": True,
                "result_key": "investigations",
                "actions_to_execute": [
                    {
                        "type": "loop",
                        "properties": {
                            "mode": "react",
                            "objective": "Investigate unmatched invoice {{exception.invoice_id}} "
                            "from {{exception.vendor_name}} for ${{exception.amount}}.",
                            "tools": [{"type": "action", "name": "lookup_purchase_order"}],
                            "max_iterations": 8,
                            "on_stuck": {"iterations": 3, "action": "retry_with_hint"},
                            "result_key": "finding",
                        },
                    }
                ],
            },
        },
        {
            "type": "PbotApproval",
            "properties": {
                "comment": "{{unmatched_invoices.length}} invoices need a write-off review",
                "request_payload": {"exceptions": "@unmatched_invoices"},
            },
        },
    ],
}


def test_invoice_reconciliation_runs_to_completion(
    consumer, org, fake, private_ok, secrets_store, events
):
    secrets_store[(org, "api", "erp_token")] = "erp-secret-7781"
    register(
        org,
        "lookup_purchase_order",
        "http",
        url=fake.url + "/po/{{po_number}}",
        headers={"Authorization": "Bearer orgconfig:api:erp_token"},
    )
    wid = workflow(org, RECONCILIATION, "ap_invoice_reconciliation")
    run_id = execute(org, wid, {"invoices": INVOICES, "payments": PAYMENTS})
    wait_status(run_id, "paused")
    state = status(org, run_id)
    assert state["status"] == "paused"
    assert state["pending_approval"]["comment"] == "2 invoices need a write-off review"
    assert [i["invoice_id"] for i in state["context"]["unmatched_invoices"]] == ["I3", "I4"]
    assert len(state["context"]["reconciled"]) == 2
    investigations = state["context"]["investigations"]
    assert investigations["count"] == 2
    finding = investigations["results"][0]["finding"]
    assert finding["completed"] is True and "Investigate unmatched invoice I3" in finding["answer"]
    # the agent called the action: templated url, secret header injected...
    assert len(fake.requests) == 2
    assert fake.requests[0]["headers"]["authorization"] == "Bearer erp-secret-7781"
    assert fake.requests[0]["headers"]["idempotency-key"].startswith(run_id)
    # ... and the secret is nowhere in what was stored
    with connection():
        stored = json.dumps(
            [flows.get_run(run_id).context]
            + [(r.input, r.output, r.state) for r in flows.step_records(run_id)]
            + [e.data for e in flows.trace(run_id)]
        )
    assert "erp-secret-7781" not in stored
    with connection():
        approvals.decide(org, run_id, "2", True, "write them off", {"reviewer": "ann"}, "key")
    wait_status(run_id, "completed")
    state = status(org, run_id)
    assert state["context"]["__approved"] is True
    assert state["context"]["__comment"] == "write them off"
    assert state["context"]["reviewer"] == "ann"
    with connection(), pytest.raises(ApiError) as info:
        approvals.decide(org, run_id, "2", True, None, None, "key")
    assert info.value.status == 409
    wait_event(events, "workflow_run_completed")
    names = [e for _, e, _ in events]
    assert names[0] == "workflow_run_started"
    assert "pbot_approval_requested" in names and "pbot_approval_decided" in names
    assert names[-1] == "workflow_run_completed"
    assert "erp-secret-7781" not in json.dumps(events)


def test_condition_false_runs_nothing(consumer, org):
    register(org, "lookup_purchase_order", "http", url="http://127.0.0.1:9/po")
    wid = workflow(org, RECONCILIATION)
    run_id = execute(org, wid, {"invoices": [], "payments": []})
    run = wait_status(run_id, "condition_not_met")
    assert run.status == "condition_not_met"
    assert [s for s in status(org, run_id)["steps"]] == []


def test_foreach_max_concurrency_really_overlaps(consumer, org, fake, private_ok):
    fake.sleep = 0.4
    register(org, "slow", "http", url=fake.url + "/slow/{{n}}", http_method="POST")
    definition = {
        "actions": [
            {
                "type": "loop",
                "properties": {
                    "mode": "foreach",
                    "items_path": "@input.items",
                    "item_variable_name": "it",
                    "max_concurrency": 4,
                    "collect_results": True,
                    "actions_to_execute": [
                        {"type": "slow", "properties": {"n": "@it"}, "outputKey": "r"}
                    ],
                    "result_key": "all",
                },
            }
        ]
    }
    run_id = execute(org, workflow(org, definition), {"items": list(range(8))})
    run = wait_status(run_id, "completed")
    assert fake.max == 4  # four at once, never more
    assert sorted(r["r"]["path"] for r in run.context["all"]["results"]) == sorted(
        f"/slow/{i}" for i in range(8)
    )


def test_http_retries_on_503(consumer, org, fake, private_ok):
    fake.fail_first = 1
    register(org, "flaky", "http", url=fake.url + "/x", retries=2)
    run_id = execute(org, workflow(org, {"actions": [{"type": "flaky", "outputKey": "y"}]}), {})
    run = wait_status(run_id, "completed")
    assert run.context["y"]["ok"] is True and len(fake.requests) == 2
    keys = {r["headers"]["idempotency-key"] for r in fake.requests}
    assert len(keys) == 1  # the retry is recognisable


def test_form_ttl_fails_the_run_and_reminders_fire(consumer, org, events):
    definition = {
        "actions": [
            {
                "type": "PbotForm",
                "properties": {
                    "expected_keys": ["shipping_address"],
                    "ttl_seconds": 3600,
                    "reminder_intervals": [60, 120],
                },
            }
        ]
    }
    run_id = execute(org, workflow(org, definition), {})
    wait_status(run_id, "paused")
    with connection():
        assert approvals.pending_forms(org)[0]["expected_keys"] == ["shipping_address"]
        later = clock.now() + dt.timedelta(seconds=130)
        approvals.send_reminders(later)
        approvals.send_reminders(later)  # each reminder once
        with pytest.raises(ApiError) as info:
            approvals.submit_form(org, run_id, "0", {"other": 1}, "k")
        assert info.value.status == 400 and "shipping_address" in info.value.message
        flows.sweep(clock.now() + dt.timedelta(seconds=3601))
    run = wait_status(run_id, "failed")
    assert run.error["code"] == "timeout"
    wait_event(events, "workflow_run_failed")
    names = [e for _, e, p in events if p.get("run_id") == run_id]
    reminders = [p for _, e, p in events if e == "external_form_updated" and p["run_id"] == run_id]
    assert [p["reminder"] for p in reminders] == [1, 2]
    assert "external_form_deleted" in names and names[-1] == "workflow_run_failed"


def test_form_submit_merges_keys(consumer, org):
    definition = {
        "actions": [
            {"type": "PbotForm", "properties": {"expected_keys": ["addr"]}},
            {
                "type": "PbotApproval",
                "properties": {"comment": "ship to {{addr}}?"},
            },
        ]
    }
    run_id = execute(org, workflow(org, definition), {})
    wait_status(run_id, "paused")
    with connection():
        approvals.submit_form(org, run_id, "0", {"addr": "1 Main St"}, "k")
    wait_status(run_id, "paused")
    assert status(org, run_id)["pending_approval"]["comment"] == "ship to 1 Main St?"


@pytest.mark.parametrize("mode", ["fail", "escalate", "retry_with_hint"])
def test_agents_stuck_each_way(consumer, org, model, mode):
    register(org, "ping", "llm", template="ping {{x}}")
    script = [act("ping", thought="same", x="1")] * 3 + [act("__complete__", answer="done")]
    scripted = Scripted(script)
    model.append(scripted)
    with connection():
        run_id = agents.execute(
            org,
            agents.AgentSpec(
                objective="loop",
                tools=[{"type": "action", "name": "ping"}],
                on_stuck={"iterations": 3, "action": mode, "hint": "Stop pinging."},
            ),
        )
        agents.run_sync(run_id)
        state = agents.status(org, run_id, include_trace=True)
    if mode == "fail":
        assert state["status"] == "failed" and state["error"]["code"] == "stuck"
    elif mode == "escalate":
        assert state["status"] == "paused" and state["pending"]["type"] == "escalation"
        with connection():
            agents.resume(org, run_id, {"answer": "finish now"})
        wait_status(run_id, "completed")
        with connection():
            state = agents.status(org, run_id, include_trace=True)
        assert state["final_answer"] == "done"
        assert "finish now" in scripted.requests[-1]["messages"][0]["content"]
    else:
        assert state["status"] == "completed" and state["final_answer"] == "done"
        assert "Stop pinging." in scripted.requests[-1]["messages"][0]["content"]
    assert [t["action"] for t in state["trace"]][:3] == ["ping"] * 3
