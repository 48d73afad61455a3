"""SDK agents over HTTP: launched by a signed-in user with tools the key allows, always async;
status, trace, list, resume and cancel of the key's runs only; tenancy."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.hyphen.conftest import error
from tests.hyphen.gateway_kit import signup
from tests.hyphen.http_kit import (  # noqa: F401 - fixtures
    Scripted,
    act,
    consumer,
    model,
    queue_name,
)
from tests.hyphen.test_sdk_auth import accounts, make_key, session, sign_in
from tests.hyphen.test_sdk_tasks import APPROVAL

# unique per run: the dev outbox is shared by every test of the session
AMY = f"amy-{uuid.uuid4().hex[:8]}@example.com"
BEN = f"ben-{uuid.uuid4().hex[:8]}@example.com"


@pytest.fixture
def account(server):
    yield from accounts(server)


def wait_agent(client, agent_id: str, *statuses: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/sdk/agents/{agent_id}/status")
        assert r.status_code == 200, r.text
        if r.json()["status"] in statuses:
            return r.json()
        assert time.monotonic() < deadline, r.json()
        time.sleep(0.05)


def test_agent_lifecycle_within_the_key(server, account, consumer, model):  # noqa: F811
    for name in ("ping", "wire_money"):
        r = account.engine.post(
            "/actions", json={"action_name": name, "kind": "llm", "template": name}
        )
        assert r.status_code == 201, r.text
    key = make_key(account, allowed_actions=["ping"], allowed_workflows=[])
    client = session(server, key["key"])
    body = {
        "objective": "loop",
        "tools": ["ping"],
        "on_stuck": {"iterations": 3, "action": "escalate"},
    }
    error(client.post("/sdk/agents/execute", json=body), 403)  # anonymous
    sign_in(account, client, key["id"], AMY)
    refused = {"objective": "x", "tools": [{"type": "action", "name": "wire_money"}]}
    error(client.post("/sdk/agents/execute", json=refused), 403)
    error(client.post("/sdk/agents/execute", json={"objective": "x", "tools": ["wire_money"]}), 403)
    wf = {"objective": "x", "tools": [{"type": "workflow", "id": "wfl-x"}]}
    error(client.post("/sdk/agents/execute", json=wf), 403)
    assert client.get("/sdk/agents").json()["total"] == 0
    scripted = Scripted([act("ping", thought="same")] * 3 + [act("__complete__", answer="fixed")])
    model.append(scripted)
    r = client.post("/sdk/agents/execute", json=body)
    assert r.status_code == 202, r.text
    agent_id = r.json()["agent_run_id"]
    assert agent_id.startswith("agent-") and r.json()["status"] == "running"
    paused = wait_agent(client, agent_id, "paused")
    assert [t["action"] for t in paused["trace"]] == ["ping", "ping", "ping"]
    listed = client.get("/sdk/agents", params={"status": "paused"}).json()
    assert [a["agent_run_id"] for a in listed["agents"]] == [agent_id] and listed["total"] == 1
    r = client.post(f"/sdk/agents/{agent_id}/resume", json={"message": "stop pinging"})
    assert r.status_code == 202, r.text
    done = wait_agent(client, agent_id, "completed")
    assert done["final_answer"] == "fixed"
    assert "stop pinging" in scripted.requests[-1]["messages"][0]["content"]
    trace = client.get(f"/sdk/agents/{agent_id}/trace").json()
    assert [t["iteration"] for t in trace["trace"]] == [1, 2, 3, 4]
    error(client.post(f"/sdk/agents/{agent_id}/resume", json={"message": "late"}), 409)
    # cancelling a finished run changes nothing
    r = client.delete(f"/sdk/agents/{agent_id}")
    assert r.status_code == 200 and r.json()["status"] == "completed"
    # previous_run_id: one of this key's runs
    r = client.post("/sdk/agents/execute", json={"objective": "next", "previous_run_id": agent_id})
    assert r.status_code == 202, r.text
    follow = wait_agent(client, r.json()["agent_run_id"], "completed")
    assert follow["previous_run_id"] == agent_id
    # the engine's own agent runs are not the key's
    engine_run = account.engine.post("/agents/execute", json={"objective": "engine"}).json()
    error(client.get(f"/sdk/agents/{engine_run['agent_run_id']}/status"), 404)
    prev = {"objective": "x", "previous_run_id": engine_run["agent_run_id"]}
    error(client.post("/sdk/agents/execute", json=prev), 404)
    assert client.get("/sdk/agents").json()["total"] == 2
    # another key of the org and another org: 404 and empty lists
    other = session(server, make_key(account, allowed_actions=["*"])["key"])
    stranger = signup(server)
    try:
        theirs = session(server, make_key(stranger, allowed_actions=["*"])["key"])
        for c in (other, theirs):
            assert c.get("/sdk/agents").json()["agents"] == []
            error(c.get(f"/sdk/agents/{agent_id}/status"), 404)
            error(c.get(f"/sdk/agents/{agent_id}/trace"), 404)
            error(c.delete(f"/sdk/agents/{agent_id}"), 404)
            error(c.post(f"/sdk/agents/{agent_id}/resume", json={"message": "x"}), 404)
    finally:
        stranger.manage.close()
        stranger.engine.close()


def test_cancel_and_run_workflow_limited_to_the_key(server, account, consumer, model):  # noqa: F811
    r = account.engine.post(
        "/workflows",
        json={"name": "payroll", "definition": APPROVAL},
    )
    assert r.status_code == 201, r.text
    key = make_key(account, allowed_workflows=["refunds"])
    client = session(server, key["key"])
    sign_in(account, client, key["id"], BEN)
    scripted = Scripted(
        [
            act("__run_workflow__", workflow_name="payroll", input={}),
            act("__pause_for_human__", question="continue?"),
        ]
    )
    model.append(scripted)
    r = client.post("/sdk/agents/execute", json={"objective": "pay everyone"})
    assert r.status_code == 202, r.text
    agent_id = r.json()["agent_run_id"]
    paused = wait_agent(client, agent_id, "paused")
    first = paused["trace"][0]
    assert first["action"] == "__run_workflow__" and first["success"] is False
    assert "may not run the workflow 'payroll'" in first["observation"]
    assert paused["triggered_runs"] == []
    # anonymous sessions read but cannot cancel
    anon = session(server, key["key"])
    assert anon.get(f"/sdk/agents/{agent_id}/status").status_code == 200
    error(anon.delete(f"/sdk/agents/{agent_id}"), 403)
    r = client.delete(f"/sdk/agents/{agent_id}")
    assert r.status_code == 200, r.text
    assert wait_agent(client, agent_id, "cancelled")["status"] == "cancelled"
