# ruff: noqa: F811 - the fixtures come from tests.hyphen.gateway_kit
"""Workflows and runs over HTTP: CRUD with whole-definition validation, tenancy, execute's
body, run status, history kept after delete, the docs' invoice reconciliation (matcher ->
react agent -> approval) decided over HTTP, an http action with an orgconfig secret against a
local fake server, generate-dag and builtin-actions."""

from __future__ import annotations

import copy
import json
import time

import pytest

from agentyard import flows
from agentyard.core.store import connection
from tests.hyphen.fake_http import FakeHTTP
from tests.hyphen.http_kit import (  # noqa: F401 - fixtures
    api,
    consumer,
    hkey,
    org_id,
    other,
    poll,
    queue_name,
    secrets_store,
)
from tests.hyphen.test_matcher import INVOICES, PAYMENTS
from tests.hyphen.test_runs import RECONCILIATION

SIMPLE = {
    "actions": [
        {
            "type": "matcher",
            "properties": {"left": "@input.a", "right": "@input.b", "matchOn": ["id"]},
        }
    ]
}


@pytest.fixture
def fake():
    with FakeHTTP() as server:
        yield server


def create(api, definition, name="wf", **extra) -> dict:
    r = api.post("/workflows", json={"name": name, "definition": definition, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def test_crud_and_tenancy(api, other):
    wf = create(api, SIMPLE, "first")
    assert wf["id"].startswith("wfl-") and len(wf["id"]) == 40
    assert api.get(f"/workflows/{wf['id']}").json()["definition"] == SIMPLE
    listed = api.get("/workflows").json()
    assert listed["total"] == 1 and listed["workflows"][0]["name"] == "first"
    r = api.put(f"/workflows/{wf['id']}", json={"name": "renamed", "definition": SIMPLE})
    assert r.status_code == 200 and r.json()["name"] == "renamed"
    for call in (
        other.get(f"/workflows/{wf['id']}"),
        other.put(f"/workflows/{wf['id']}", json={"name": "x", "definition": SIMPLE}),
        other.delete(f"/workflows/{wf['id']}"),
        other.post(f"/workflows/{wf['id']}/execute", json={"input": {}}),
    ):
        assert call.status_code == 404 and set(call.json()) == {"error", "message"}
    assert other.get("/workflows").json()["total"] == 0
    assert api.delete(f"/workflows/{wf['id']}").json() == {"id": wf["id"], "deleted": True}
    assert api.get(f"/workflows/{wf['id']}").status_code == 404


def test_the_list_pages_oldest_first_within_the_org(api, other):
    made = [create(api, SIMPLE, f"wf-{n}")["id"] for n in range(3)]
    create(other, SIMPLE, "theirs")
    first = api.get("/workflows", params={"limit": 2}).json()
    rest = api.get("/workflows", params={"limit": 2, "offset": 2}).json()
    assert [w["id"] for w in first["workflows"] + rest["workflows"]] == made
    assert first["total"] == rest["total"] == 3


@pytest.mark.parametrize(
    "path, value, where",
    [
        (["actions", 0, "type"], "teleport", "actions[0].type"),
        (["actions", 0, "properties", "left"], None, "actions[0].properties.left"),
        (["actions", 0, "properties", "right"], "@nothing.here", "actions[0].properties.right"),
        (["condition"], {"equal": [1]}, "definition.condition.equal"),
    ],
)
def test_invalid_definitions_are_400_naming_the_step(api, path, value, where):
    definition = copy.deepcopy(SIMPLE)
    target = definition
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    r = api.post("/workflows", json={"name": "bad", "definition": definition})
    assert r.status_code == 400, r.text
    assert where in r.json()["message"]
    assert api.get("/workflows").json()["total"] == 0  # nothing was stored
    dag = api.post("/utils/generate-dag", json={"definition": definition})
    assert dag.status_code == 400 and where in dag.json()["message"]


def test_a_cycle_through_run_workflow_is_refused(api):
    a = create(api, SIMPLE, "a")
    calls_a = {
        "actions": [
            {
                "type": "loop",
                "properties": {
                    "mode": "react",
                    "objective": "go",
                    "tools": [{"type": "workflow", "id": a["id"]}],
                },
            }
        ]
    }
    b = create(api, calls_a, "b")
    calls_b = {
        "actions": [
            {
                "type": "loop",
                "properties": {
                    "mode": "react",
                    "objective": "go",
                    "tools": [{"type": "workflow", "id": b["id"]}],
                },
            }
        ]
    }
    r = api.put(f"/workflows/{a['id']}", json={"name": "a", "definition": calls_b})
    assert r.status_code == 400 and "cycle" in r.json()["message"]


@pytest.mark.parametrize("body", [{}, {"input": [1]}, {"input": {}, "extra": 1}, {"data": {}}])
def test_execute_needs_an_input_object(api, body):
    wf = create(api, SIMPLE)
    r = api.post(f"/workflows/{wf['id']}/execute", json=body)
    assert r.status_code == 400 and set(r.json()) == {"error", "message"}


def test_execute_status_and_history_after_delete(api, other, consumer):
    wf = create(api, SIMPLE)
    r = api.post(
        f"/workflows/{wf['id']}/execute",
        json={"input": {"a": [{"id": 1}, {"id": 2}], "b": [{"id": 2}]}},
    )
    assert r.status_code == 202
    run_id = r.json()["run_id"]
    body = poll(api, run_id, "completed")
    assert [m["left"]["id"] for m in body["context"]["matched"]] == [2]
    assert body["context"]["unmatchedLeft"] == [{"id": 1}]
    assert body["steps"][0]["status"] == "completed"
    assert other.get(f"/runs/{run_id}/status").status_code == 404
    api.delete(f"/workflows/{wf['id']}")
    assert api.get(f"/runs/{run_id}/status").json()["status"] == "completed"


def test_invoice_reconciliation_over_http(api, other, consumer, fake):
    r = api.post("/org-config", json={"key": "erp_token", "value": "erp-token-5521"})
    assert r.status_code == 201, r.text
    hook = api.post("/webhooks", json={"event": "*", "url": fake.url + "/hook"})
    assert hook.status_code == 201, hook.text
    r = api.post(
        "/actions",
        json={
            "action_name": "lookup_purchase_order",
            "kind": "http",
            "description": "Look up a purchase order in the ERP",
            "url": fake.url + "/po/{{po_number}}",
            "http_method": "GET",
            "headers": {"Authorization": "Bearer orgconfig:api:erp_token", "X-Org": "{{org}}"},
        },
    )
    assert r.status_code == 201, r.text
    wf = create(api, RECONCILIATION, "ap_invoice_reconciliation")
    r = api.post(
        f"/workflows/{wf['id']}/execute",
        json={"input": {"invoices": INVOICES, "payments": PAYMENTS}},
    )
    run_id = r.json()["run_id"]
    body = poll(api, run_id, "paused")
    assert body["pending_approval"]["comment"] == "2 invoices need a write-off review"
    pending = api.get("/approvals").json()["approvals"]
    assert [(p["run_id"], p["step_id"], p["status"]) for p in pending] == [(run_id, "2", "pending")]
    assert other.get("/approvals").json()["approvals"] == []
    assert other.post(f"/approvals/{run_id}/2", json={"approved": True}).status_code == 404
    assert api.post(f"/approvals/{run_id}/5", json={"approved": True}).status_code == 409
    assert api.post(f"/approvals/{run_id}/2", json={"comment": "no flag"}).status_code == 400
    r = api.post(
        f"/approvals/{run_id}/2",
        json={"approved": True, "comments": "write off", "data": {"reviewer": "ann"}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    assert api.post(f"/approvals/{run_id}/2", json={"approved": False}).status_code == 409
    body = poll(api, run_id, "completed")
    ctx = body["context"]
    assert (ctx["__approved"], ctx["__comment"], ctx["reviewer"]) == (True, "write off", "ann")
    assert len(ctx["reconciled"]) == 2
    findings = [r["finding"] for r in ctx["investigations"]["results"]]
    assert all(f["completed"] for f in findings)
    # the agent's tool calls went out with the templated url and the secret injected ...
    calls = [r for r in fake.requests if r["path"].startswith("/po/")]
    assert len(calls) == 2
    assert {r["headers"]["authorization"] for r in calls} == {"Bearer erp-token-5521"}
    # ... and the secret is in nothing stored or answered
    assert "erp-token-5521" not in json.dumps(body)
    with connection():
        stored = json.dumps(
            [(r.input, r.output, r.state, r.error) for r in flows.step_records(run_id)]
            + [e.data for e in flows.trace(run_id)]
        )
    assert "erp-token-5521" not in stored
    decided = api.get(f"/approvals/{run_id}").json()["approvals"]
    assert [(a["step_id"], a["status"]) for a in decided] == [("2", "approved")]
    # the run's events were delivered, signed, and carry no secret either
    deadline = time.monotonic() + 20
    while not any(json.loads(r["body"])["event"] == "workflow_run_completed" for r in hooks(fake)):
        assert time.monotonic() < deadline, [json.loads(r["body"])["event"] for r in hooks(fake)]
        time.sleep(0.05)
    delivered = [json.loads(r["body"]) for r in hooks(fake)]
    events = [d["event"] for d in delivered]
    # each delivery is its own job, so they may arrive in any order; the envelope's timestamp
    # says when each event happened
    at = {d["event"]: d["timestamp"] for d in delivered}
    order = ["workflow_run_started", "pbot_approval_requested", "pbot_approval_decided"]
    assert set(order) <= set(events)
    stamps = [at[e] for e in [*order, "workflow_run_completed"]]
    assert stamps == sorted(stamps)
    done = next(d for d in delivered if d["event"] == "workflow_run_completed")
    assert done["payload"]["run_id"] == run_id and done["payload"]["workflow_id"] == wf["id"]
    assert all(r["headers"]["x-hyphen-signature"].startswith("sha256=") for r in hooks(fake))
    assert "erp-token-5521" not in json.dumps(delivered)


def hooks(fake) -> list[dict]:
    return [r for r in list(fake.requests) if r["path"] == "/hook"]


def test_condition_not_met(api, consumer):
    definition = {"condition": {"greaterThan": ["@input.n", 5]}, **SIMPLE}
    wf = create(api, definition)
    run_id = api.post(f"/workflows/{wf['id']}/execute", json={"input": {"n": 1}}).json()["run_id"]
    body = poll(api, run_id, "condition_not_met")
    assert body["steps"] == []


def test_filter_and_on_false(api, consumer):
    definition = {
        "actions": [
            {
                "type": "matcher",
                "filter": {"condition": {"equal": ["@input.mode", "strict"]}},
                "onFalse": {
                    "type": "matcher",
                    "properties": {
                        "left": "@input.a",
                        "right": "@input.a",
                        "outputMatched": "loose",
                    },
                },
                "properties": {"left": "@input.a", "right": "@input.a", "outputMatched": "strict"},
            }
        ]
    }
    wf = create(api, definition)
    run_id = api.post(
        f"/workflows/{wf['id']}/execute", json={"input": {"mode": "x", "a": [{"k": 1}]}}
    ).json()["run_id"]
    ctx = poll(api, run_id, "completed")["context"]
    assert "loose" in ctx and "strict" not in ctx


def test_generate_dag_and_builtin_actions(api):
    r = api.post("/utils/generate-dag", json={"definition": SIMPLE})
    assert r.status_code == 200
    assert [n["id"] for n in r.json()["nodes"]] == ["start", "0", "end"]
    names = [a["name"] for a in api.get("/builtin-actions").json()["actions"]]
    assert names[0] == "__complete__" and "__run_workflow__" in names


def test_a_rejection_ends_the_run_or_continues_when_asked(api, consumer):
    def run(on_reject=None) -> tuple[str, str]:
        props = {"comment": "ok?", **({"on_reject": on_reject} if on_reject else {})}
        definition = {
            "actions": [
                {"type": "PbotApproval", "properties": props},
                {
                    "type": "matcher",
                    "filter": {"condition": {"equal": ["@__approved", False]}},
                    "properties": {"left": [], "right": [], "outputMatched": "flagged"},
                },
            ]
        }
        wf = create(api, definition)
        run_id = api.post(f"/workflows/{wf['id']}/execute", json={"input": {}}).json()["run_id"]
        poll(api, run_id, "paused")
        r = api.post(f"/approvals/{run_id}/0", json={"approved": False, "comment": "no"})
        assert r.json()["status"] == "rejected"
        return run_id, poll(api, run_id, "completed", "failed")["status"]

    run_id, status = run()
    assert status == "failed"
    assert api.get(f"/runs/{run_id}/status").json()["error"]["code"] == "rejected"
    run_id, status = run("continue")
    assert status == "completed"
    ctx = api.get(f"/runs/{run_id}/status").json()["context"]
    assert (ctx["__approved"], ctx["__comment"], ctx["flagged"]) == (False, "no", [])
    assert api.get(f"/approvals/{run_id}").json()["approvals"][0]["status"] == "rejected"


def test_an_action_output_key_is_a_known_reference(api, consumer):
    r = api.post(
        "/actions",
        json={"action_name": "note", "kind": "llm", "template": "note", "outputKey": "noted"},
    )
    assert r.status_code == 201
    definition = {
        "actions": [
            {"type": "note"},
            {"type": "PbotApproval", "properties": {"comment": "{{noted.text}}"}},
        ]
    }
    wf = create(api, definition)
    run_id = api.post(f"/workflows/{wf['id']}/execute", json={"input": {}}).json()["run_id"]
    assert poll(api, run_id, "paused")["context"]["noted"]["text"]


def test_custom_table_steps_write_upsert_update_and_read(api, consumer):
    fields = [
        {"name": "run_id", "type": "text", "required": True},
        {"name": "invoice", "type": "text"},
        {"name": "status", "type": "text"},
        {"name": "amount", "type": "numeric"},
    ]
    assert (
        api.post("/custom-tables", json={"name": "recon_log", "fields": fields}).status_code == 201
    )
    table = {"table": "recon_log"}
    definition = {
        "actions": [
            {
                "type": "custom-table",
                "properties": {
                    **table,
                    "operation": "write",
                    "fields": {
                        "run_id": "@__run_id",
                        "invoice": "@input.invoice",
                        "status": "open",
                        "amount": "@input.amount",
                    },
                },
                "outputKey": "written",
            },
            {
                "type": "custom-table",
                "properties": {
                    **table,
                    "operation": "upsert",
                    "keys": ["invoice"],
                    "fields": {
                        "run_id": "@__run_id",
                        "invoice": "@input.invoice",
                        "status": "matched",
                    },
                },
            },
            {
                "type": "custom-table",
                "properties": {
                    **table,
                    "operation": "update",
                    "keys": ["invoice"],
                    "values": ["@input.invoice"],
                    "fields": {"amount": 99.5},
                },
                "outputKey": "updated",
            },
            {
                "type": "custom-table",
                "properties": {
                    **table,
                    "operation": "read",
                    "fields": {"invoice": "@input.invoice"},
                },
                "outputKey": "rows",
            },
        ]
    }
    wf = create(api, definition)
    run_id = api.post(
        f"/workflows/{wf['id']}/execute", json={"input": {"invoice": "I-7", "amount": 12}}
    ).json()["run_id"]
    ctx = poll(api, run_id, "completed")["context"]
    assert ctx["updated"] == {"updated": 1}
    [row] = ctx["rows"]
    assert (row["run_id"], row["status"], float(row["amount"])) == (run_id, "matched", 99.5)
    audit = api.get("/custom-tables/recon_log/audit").json()["entries"]
    mutations = [e for e in audit if e["operation"] != "create_table"]
    assert len(mutations) == 3 and {e["actor"] for e in mutations} == {f"run:{run_id}"}
    # a type error fails the run, naming the field
    bad = create(
        api,
        {
            "actions": [
                {
                    "type": "custom-table",
                    "properties": {
                        **table,
                        "operation": "write",
                        "fields": {"run_id": "x", "amount": "lots"},
                    },
                }
            ]
        },
    )
    run_id = api.post(f"/workflows/{bad['id']}/execute", json={"input": {}}).json()["run_id"]
    body = poll(api, run_id, "failed")
    assert "amount" in body["error"]["message"]


def test_execute_validates_the_input_against_the_workflow_schema(api, consumer):
    schema = {
        "type": "object",
        "required": ["invoices"],
        "properties": {
            "invoices": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["amount"],
                    "properties": {"amount": {"type": "number"}},
                },
            }
        },
    }
    sid = api.post("/schemas", json={"name": "in", "schema": schema}).json()["id"]
    missing = api.post(
        "/workflows", json={"name": "x", "definition": SIMPLE, "input_schema": "sch-no"}
    )
    assert missing.status_code == 404
    wf = create(api, SIMPLE, input_schema=sid)
    assert wf["input_schema"] == sid
    r = api.post(f"/workflows/{wf['id']}/execute", json={"input": {"invoices": [{"amount": "x"}]}})
    assert r.status_code == 400 and "invoices/0/amount" in r.json()["message"]
    r = api.post(
        f"/workflows/{wf['id']}/execute",
        json={"input": {"invoices": [{"amount": 1}], "a": [], "b": []}},
    )
    assert r.status_code == 202


def test_foreach_items_are_at_item_and_their_own_name(api, consumer):
    definition = {
        "actions": [
            {
                "type": "loop",
                "properties": {
                    "mode": "foreach",
                    "items_path": "@input.rows",
                    "item_variable_name": "row",
                    "collect_results": True,
                    "result_key": "out",
                    "actions_to_execute": [
                        {
                            "type": "matcher",
                            "properties": {"left": ["@row"], "right": ["@item"]},
                            "outputKey": "m",
                        }
                    ],
                },
            }
        ]
    }
    wf = create(api, definition)
    rows = [{"k": 1}, {"k": 2}]
    run_id = api.post(f"/workflows/{wf['id']}/execute", json={"input": {"rows": rows}}).json()[
        "run_id"
    ]
    out = poll(api, run_id, "completed")["context"]["out"]
    assert [r["m"]["matched"][0]["left"] for r in out["results"]] == rows
