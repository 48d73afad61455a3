# ruff: noqa: F811 - the fixtures come from tests.hyphen.http_kit and gateway_kit
"""AI workflow generation over HTTP: the offline drafter end to end (the draft validates,
create-from-ai creates it atomically and the workflow then executes, its approval decided
through /approvals), the repair re-ask and the invalid-draft report with a scripted model, a
real Anthropic upstream (a local fake), llm_key_missing, tenancy, permissions and the
webhook events."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import pytest

from agentyard.hyphen import ai_generation
from agentyard.llm import make_provider
from tests.harnesslayer.people_helpers import serving_receiver
from tests.hyphen.conftest import error
from tests.hyphen.gateway_kit import account, key_client  # noqa: F401
from tests.hyphen.http_kit import (  # noqa: F401
    Scripted,
    api,
    consumer,
    hkey,
    org_id,
    other,
    poll,
    queue_name,
)
from tests.llm.fakes import FakeAnthropic, Reply

PROMPT = "Approve invoices over $5,000, record them in a table and email the finance team."

VALID = {
    "workflow": {
        "name": "tickets",
        "description": "log tickets",
        "definition": {
            "actions": [
                {
                    "type": "custom-table",
                    "properties": {
                        "table": "ai_tickets",
                        "operation": "write",
                        "fields": {"title": "@input.title"},
                    },
                }
            ]
        },
    },
    "actions": [],
    "tables": [{"name": "ai_tickets", "fields": [{"name": "title", "type": "text"}]}],
    "external_dependencies": [],
    "notes": "a ticket log",
}
BROKEN = {
    **VALID,
    "workflow": {
        **VALID["workflow"],
        "definition": {"actions": [{"type": "send_fax", "properties": {}}]},
    },
}


@pytest.fixture
def model(monkeypatch):
    factories: list = [ai_generation.provider_factory[-1]]
    monkeypatch.setattr(ai_generation, "provider_factory", factories)
    return factories


def wait(api, path: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = api.get(path)
        assert r.status_code == 200, r.text
        if r.json()["status"] != "processing":
            return r.json()
        assert time.monotonic() < deadline, r.json()
        time.sleep(0.05)


def generate(api, prompt: str = PROMPT, **body) -> dict:
    r = api.post("/ai/generate-workflow", json={"prompt": prompt, **body})
    assert r.status_code == 202, r.text
    started = r.json()
    assert started["generation_id"].startswith("llm_gen-") and started["status"] == "processing"
    gid = started["generation_id"]
    wait(api, f"/ai/generate-workflow/{gid}/status")
    return api.get(f"/ai/generate-workflow/{gid}").json()


def create(api, prompt: str = PROMPT, **body) -> dict:
    r = api.post("/workflows/create-from-ai", json={"prompt": prompt, **body})
    assert r.status_code == 202, r.text
    pid = r.json()["process_id"]
    assert pid.startswith("wfc-") and r.json()["status"] == "processing"
    status = wait(api, f"/workflows/generation-status/{pid}")
    process = api.get(f"/workflows/create-from-ai/{pid}").json()
    assert process["status"] == status["status"]
    return process


def counts(api, *tables: str) -> tuple[int, ...]:
    """How many workflows and actions the org has, and which of `tables` exist (1 or 0)."""
    have = [int(api.get(f"/custom-tables/{t}").status_code == 200) for t in tables]
    return (api.get("/workflows").json()["total"], api.get("/actions").json()["total"], *have)


def test_offline_draft_is_valid_deterministic_and_creates_nothing(api, consumer) -> None:
    out = generate(api)
    assert (out["status"], out["offline"], out["provider"], out["valid"]) == (
        "completed",
        True,
        "offline",
        True,
    )
    assert out["validation"] == {"valid": True, "errors": [], "attempts": 1, "repaired": False}
    draft = out["draft"]
    steps = draft["workflow"]["definition"]["actions"]
    assert [s["type"] for s in steps] == [
        "PbotApproval",
        "custom-table",
        "invoices_finance_compose_notification",
    ]
    assert steps[0]["filter"] == {"condition": {"greaterThan": ["@input.amount", 5000]}}
    assert [t["name"] for t in draft["tables"]] == ["invoices_finance_records"]
    assert draft["actions"][0]["kind"] == "llm"
    assert draft["external_dependencies"][0]["name"] == "Gmail"
    assert "offline" in draft["notes"]
    assert generate(api)["draft"] == draft  # deterministic
    assert counts(api, "invoices_finance_records") == (0, 0, 0)  # a generation creates nothing
    plain = generate(api, "Summarise customer feedback")["draft"]
    assert plain["workflow"]["definition"]["actions"][0]["type"].endswith("_handle_request")


def test_create_from_ai_creates_it_and_the_workflow_executes(api, consumer) -> None:
    process = create(api, name="Invoice approvals")
    assert process["status"] == "completed" and process["error"] is None, process
    assert process["workflow"]["name"] == "Invoice approvals"
    assert process["workflow_id"] == process["workflow"]["id"]
    assert [t["created"] for t in process["tables"]] == [True]
    assert [a["created"] for a in process["actions"]] == [True]
    wf = process["workflow_id"]
    # over the threshold: it waits for an approval, then records and notifies
    run = api.post(f"/workflows/{wf}/execute", json={"input": {"amount": 9000}}).json()
    paused = poll(api, run["run_id"], "paused")
    assert paused["pending_approval"]["step_id"] == "0"
    r = api.post(f"/approvals/{run['run_id']}/0", json={"approved": True, "comment": "ok"})
    assert r.status_code == 200, r.text
    done = poll(api, run["run_id"], "completed")
    assert done["context"]["recorded"]["amount"] == 9000
    assert done["context"]["notification"]["text"]
    # under it: the approval is skipped
    run = api.post(f"/workflows/{wf}/execute", json={"input": {"amount": 10}}).json()
    assert poll(api, run["run_id"], "completed")["context"]["recorded"]["amount"] == 10
    assert api.get(f"/approvals/{run['run_id']}").json()["approvals"] == []  # skipped
    rows = api.get("/custom-tables/invoices_finance_records/rows").json()
    assert sorted(r["amount"] for r in rows["rows"]) == [10, 9000]
    # the same prompt again reuses the identical table and action
    again = create(api)
    assert again["status"] == "completed"
    assert [t["created"] for t in again["tables"]] == [False]
    assert [a["created"] for a in again["actions"]] == [False]
    assert counts(api, "invoices_finance_records") == (2, 1, 1)


def test_an_invalid_draft_is_repaired_once(api, consumer, model) -> None:
    scripted = Scripted(["not json at all", BROKEN, VALID])
    model.append(scripted)
    out = generate(api, "log support tickets")
    assert out["status"] == "failed" and out["error"]["code"] == "invalid_draft", out
    assert out["validation"]["attempts"] == 2 and out["validation"]["repaired"] is False
    [problem] = out["validation"]["errors"]
    assert problem["where"] == "workflow" and "send_fax" in problem["message"]
    assert out["draft"] == BROKEN  # kept for inspection
    assert "not one JSON object" in scripted.requests[1]["messages"][-1]["content"]
    # a broken first draft, then a good one
    scripted = Scripted([BROKEN, VALID])
    model.append(scripted)
    out = generate(api, "log support tickets")
    assert (
        out["status"] == "completed" and out["offline"] is False and out["provider"] == "scripted"
    )
    assert out["validation"] == {"valid": True, "errors": [], "attempts": 2, "repaired": True}
    assert out["draft"] == VALID
    retry = scripted.requests[1]["messages"]
    assert "send_fax" in retry[-1]["content"] and retry[-2]["role"] == "assistant"
    assert counts(api, "ai_tickets") == (0, 0, 0)
    # a draft of the wrong shape is reported as it was, not a 500
    odd = {"workflow": "a workflow", "external_dependencies": ["Gmail"], "notes": 3}
    model.append(Scripted([odd]))
    out = generate(api, "log support tickets")
    assert out["status"] == "failed" and out["draft"] == odd
    assert [e["where"] for e in out["validation"]["errors"]] == ["workflow"]


def test_a_failing_creation_creates_nothing(api, consumer, model) -> None:
    bad_table = {
        **BROKEN,
        "actions": [{"action_name": "ai_note", "kind": "llm", "template": "note {{x}}"}],
        "tables": [
            {"name": "ai_ok", "fields": [{"name": "a", "type": "text"}]},
            {"name": "ai_bad", "fields": [{"name": "a", "type": "blob"}]},
        ],
    }
    model.append(Scripted([bad_table]))
    process = create(api, "anything")
    assert process["status"] == "failed" and process["error"]["code"] == "invalid_draft"
    wheres = [e["where"] for e in process["validation"]["errors"]]
    assert wheres == ["tables[1]", "workflow"]
    assert process["workflow"] is None and process["tables"] == [] and process["actions"] == []
    assert counts(api, "ai_ok", "ai_tickets") == (0, 0, 0, 0)
    # an action of the same name but another definition makes the creation fail whole
    r = api.post("/actions", json={"action_name": "ai_note", "kind": "llm", "template": "other"})
    assert r.status_code == 201, r.text
    model.append(Scripted([{**VALID, "actions": bad_table["actions"]}]))
    process = create(api, "anything")
    assert process["status"] == "failed" and process["error"]["code"] == "invalid_draft"
    assert "already exists" in process["validation"]["errors"][0]["message"]
    assert counts(api, "ai_tickets") == (0, 1, 0)


def test_a_real_upstream_gets_the_schema_and_answers_the_draft(api, consumer, model) -> None:
    with FakeAnthropic() as fake:
        fake.enqueue(Reply(text="```json\n" + json.dumps(VALID) + "\n```"))
        model.append(
            lambda: make_provider(
                "anthropic", base_url=fake.url, api_key=fake.api_key, max_retries=0
            )
        )
        out = generate(api, "log support tickets", llmOptions={"model": "m-1", "temperature": 0})
        [sent] = [r.json for r in fake.requests if r.path.endswith("/v1/messages")]
    assert out["status"] == "completed" and out["provider"] == "anthropic"
    assert out["offline"] is False and out["draft"] == VALID
    assert sent["model"] == "m-1" and sent["temperature"] == 0
    assert "PbotApproval" in sent["system"] and '"external_dependencies"' in sent["system"]
    assert sent["messages"] == [{"role": "user", "content": "log support tickets"}]
    # an upstream error is a failed generation, not a 500
    with FakeAnthropic() as fake:
        fake.enqueue(Reply.error(400, "invalid_request_error", "bad model"))
        model.append(
            lambda: make_provider(
                "anthropic", base_url=fake.url, api_key=fake.api_key, max_retries=0
            )
        )
        out = generate(api, "log support tickets")
    assert out["status"] == "failed" and out["error"]["code"] == "llm_error"


def test_a_real_provider_without_a_key_is_llm_key_missing(api, consumer, model) -> None:
    model.append(lambda: make_provider("anthropic", base_url="http://127.0.0.1:9", api_key=None))
    with serving_receiver() as receiver:
        missing, status, creation = receiver.url(), receiver.url(), receiver.url()
        for event, url in (
            ("llm_key_missing", missing),
            ("llm_generation_status", status),
            ("workflow_creation_status", creation),
        ):
            r = api.post("/webhooks", json={"event": event, "url": url})
            assert r.status_code == 201, r.text
        out = generate(api)
        assert out["status"] == "failed" and out["error"]["code"] == "llm_key_missing"
        assert out["draft"] is None
        process = create(api)
        assert process["status"] == "failed" and process["error"]["code"] == "llm_key_missing"
        [h1, h2] = receiver.wait(missing, 2)
        keys = {json.loads(h.body)["payload"].get("generation_id") for h in (h1, h2)}
        assert out["generation_id"] in keys
        # deliveries are independent jobs: their order is not the events' order
        sent = [json.loads(h.body) for h in receiver.wait(status, 2)]
        assert sorted(b["payload"]["status"] for b in sent) == ["failed", "processing"]
        assert {b["payload"]["generation_id"] for b in sent} == {out["generation_id"]}
        sent = [json.loads(h.body) for h in receiver.wait(creation, 2)]
        assert {b["event"] for b in sent} == {"workflow_creation_status"}
        assert sorted(b["payload"]["status"] for b in sent) == ["failed", "processing"]


def test_creation_events_follow_the_process(api, consumer) -> None:
    with serving_receiver() as receiver:
        url = receiver.url()
        api.post("/webhooks", json={"event": "workflow_creation_status", "url": url})
        process = create(api, "Record expenses in a table")
        sent = [json.loads(h.body)["payload"] for h in receiver.wait(url, 3)]
    assert sorted((p["status"], p["stage"]) for p in sent) == [
        ("completed", "done"),
        ("processing", "creating"),
        ("processing", "queued"),
    ]
    [done] = [p for p in sent if p["status"] == "completed"]
    assert done["workflow_id"] == process["workflow_id"]


def test_another_orgs_generations_are_not_found(api, other, consumer) -> None:
    gid = api.post("/ai/generate-workflow", json={"prompt": PROMPT}).json()["generation_id"]
    pid = api.post("/workflows/create-from-ai", json={"prompt": PROMPT}).json()["process_id"]
    for path in (
        f"/ai/generate-workflow/{gid}",
        f"/ai/generate-workflow/{gid}/status",
        f"/workflows/create-from-ai/{pid}",
        f"/workflows/generation-status/{pid}",
    ):
        error(other.get(path), 404)
    error(api.get(f"/workflows/generation-status/{gid}"), 404)  # not a process
    error(api.get(f"/ai/generate-workflow/{pid}"), 404)  # not a generation
    error(api.get("/ai/generate-workflow/llm_gen-nope/status"), 404)
    wait(api, f"/workflows/generation-status/{pid}")


def test_bad_input_is_a_400(api) -> None:
    for body in (
        {},
        {"prompt": ""},
        {"prompt": "   "},
        {"prompt": "x", "llmOptions": {"temperature": 5}},
        {"prompt": "x", "extra": 1},
    ):
        error(api.post("/ai/generate-workflow", json=body), 400)
        error(api.post("/workflows/create-from-ai", json=body), 400)


def test_permissions(server, account, consumer) -> None:
    gid = account.engine.post("/ai/generate-workflow", json={"prompt": "x"}).json()
    pid = account.engine.post("/workflows/create-from-ai", json={"prompt": "x"}).json()
    for permissions in ("read_only", "execute_only"):
        r = account.manage.post(
            f"/gateway/orgs/{account.org_id}/keys", json={"permissions": permissions}
        )
        with key_client(server, r.json()["key"]) as client:
            error(client.post("/ai/generate-workflow", json={"prompt": "x"}), 403)
            error(client.post("/workflows/create-from-ai", json={"prompt": "x"}), 403)
            reads = (
                f"/ai/generate-workflow/{gid['generation_id']}/status",
                f"/ai/generate-workflow/{gid['generation_id']}",
                f"/workflows/create-from-ai/{pid['process_id']}",
                f"/workflows/generation-status/{pid['process_id']}",
            )
            for path in reads:
                want = 200 if permissions == "read_only" else 403
                assert client.get(path).status_code == want, (permissions, path)


def test_a_job_lost_with_its_worker_is_run_again_once(api, consumer, org_id) -> None:
    from agentyard.core import clock
    from agentyard.core.store import connection, write
    from agentyard.hyphen.ai_generation_models import Generation

    long_ago = clock.now() - dt.timedelta(hours=1)
    lost, busy = f"llm_gen-{uuid.uuid4()}", f"llm_gen-{uuid.uuid4()}"
    with connection(), write():
        for rid, updated in ((lost, long_ago), (busy, clock.now())):
            Generation.create(
                id=rid,
                org=org_id,
                prompt="Record expenses in a table",
                status="processing",
                stage="generating",  # a worker took it
                created_at=long_ago,
                updated_at=updated,
            )
    with connection():
        assert ai_generation.claim(busy) is None  # its worker is alive
        assert ai_generation.requeue_stale() == 1
    assert wait(api, f"/ai/generate-workflow/{lost}/status")["status"] == "completed"
    with connection():
        assert ai_generation.claim(lost) is None  # finished: never again
    assert api.get(f"/ai/generate-workflow/{busy}/status").json()["status"] == "processing"
