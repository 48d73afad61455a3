"""SDK tasks over HTTP: pending approvals limited to the key's workflows, decided by a signed-in
user (the run resumes as with /approvals), tenancy, and the events published for streams."""

from __future__ import annotations

import asyncio
import threading

import pytest

from agentyard.core import runtime
from agentyard.hyphen import sdk_events
from tests.hyphen.conftest import error
from tests.hyphen.gateway_kit import signup
from tests.hyphen.http_kit import (  # noqa: F401 - fixtures
    consumer,
    poll,
    queue_name,
)
from tests.hyphen.test_sdk_auth import (
    accounts,
    code_for,
    make_key,
    register,
    session,
    sign_in,
)

APPROVAL = {
    "actions": [
        {
            "type": "PbotApproval",
            "properties": {
                "comment": "refund {{input.amount}}?",
                "request_payload": {"amount": "@input.amount", "urgency": "high"},
            },
        }
    ]
}


@pytest.fixture
def account(server):
    yield from accounts(server)


def start(account, name: str) -> str:
    r = account.engine.post("/workflows", json={"name": name, "definition": APPROVAL})
    assert r.status_code == 201, r.text
    wf = r.json()
    r = account.engine.post(f"/workflows/{wf['id']}/execute", json={"input": {"amount": 5}})
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    poll(account.engine, run_id, "paused")
    return run_id


class Collector:
    """Subscribes to an org's SDK channel in a thread of its own (its own event loop)."""

    def __init__(self, org_id: str) -> None:
        self.messages: list[dict] = []
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=asyncio.run, args=(self._run(org_id),), daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    async def _run(self, org_id: str) -> None:
        async with runtime.broker().subscribe(sdk_events.channel(org_id)) as sub:
            self.ready.set()
            while not self.stop.is_set():
                message = await sub.get(timeout=0.1)
                if message is not None:
                    self.messages.append(message)

    def types(self) -> list[str]:
        return [m["type"] for m in self.messages]

    def wait_for(self, type_: str) -> dict:
        for _ in range(200):
            found = [m for m in self.messages if m["type"] == type_]
            if found:
                return found[-1]
            self.stop.wait(0.05)
        raise AssertionError(f"no {type_} in {self.types()}")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


@pytest.fixture
def collector(server, account):
    c = Collector(account.org_id)
    yield c
    c.close()


def test_tasks_are_limited_to_allowed_workflows_and_decided_by_a_user(
    server,
    account,
    consumer,  # noqa: F811
    collector,
):
    run_a = start(account, "refunds")
    run_b = start(account, "payroll")
    created = collector.wait_for("task:created")
    assert created["data"] == {"runId": run_b, "workflowName": "payroll", "urgency": "high"}
    key = make_key(account, allowed_workflows=["refunds"])
    client = session(server, key["key"])
    tasks = client.get("/sdk/tasks").json()["tasks"]
    assert [(t["run_id"], t["workflow_name"], t["urgency"]) for t in tasks] == [
        (run_a, "refunds", "high")
    ]
    task = tasks[0]
    assert task["id"] == f"{run_a}:0" and task["request_payload"] == {
        "amount": 5,
        "urgency": "high",
    }
    # an anonymous session may list but not decide
    r = client.post(f"/sdk/tasks/{task['id']}/decide", json={"approved": True})
    error(r, 403)
    # a task of a workflow the key does not allow is not there
    error(client.post(f"/sdk/tasks/{run_b}:0/decide", json={"approved": True}), 404)
    sign_in(account, client, key["id"], "amy@example.com")
    r = client.post(f"/sdk/tasks/{task['id']}/decide", json={"approved": True, "comment": "fine"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["task_id"], body["status"], body["decided_by"]) == (
        task["id"],
        "approved",
        "amy@example.com",
    )
    done = poll(account.engine, run_a, "completed")
    assert (done["context"]["__approved"], done["context"]["__comment"]) == (True, "fine")
    decided = collector.wait_for("task:decided")
    assert decided["data"] == {"runId": run_a, "stepId": "0", "approved": True, "comment": "fine"}
    assert decided["workflow_name"] == "refunds"
    statuses = [m["data"]["status"] for m in collector.messages if m["type"] == "run:status"]
    assert {"running", "paused", "completed"} <= set(statuses)
    # decided once: a 409 now, and the list is empty
    error(client.post(f"/sdk/tasks/{task['id']}/decide", json={"approved": False}), 409)
    assert client.get("/sdk/tasks").json()["tasks"] == []


def test_another_orgs_task_is_404_and_a_viewer_may_not_decide(server, account, consumer):  # noqa: F811
    run_id = start(account, "refunds")
    stranger = signup(server)
    key = make_key(stranger, allowed_workflows=["*"])
    client = session(server, key["key"])
    assert client.get("/sdk/tasks").json()["tasks"] == []
    sign_in(stranger, client, key["id"], "zed@example.com")
    error(client.post(f"/sdk/tasks/{run_id}:0/decide", json={"approved": True}), 404)
    error(client.post("/sdk/tasks/nonsense/decide", json={"approved": True}), 404)
    # a viewer of the right org lists but cannot decide
    own = make_key(account, allowed_workflows=["*"])
    viewer = session(server, own["key"])
    register(account, own["id"], "val@example.com", role="viewer")
    viewer.post("/sdk/auth/otp/request", json={"email": "val@example.com"})
    code = code_for("val@example.com")
    assert (
        viewer.post(
            "/sdk/auth/otp/verify", json={"email": "val@example.com", "code": code}
        ).status_code
        == 200
    )
    assert [t["run_id"] for t in viewer.get("/sdk/tasks").json()["tasks"]] == [run_id]
    error(viewer.post(f"/sdk/tasks/{run_id}:0/decide", json={"approved": True}), 403)
    error(viewer.post(f"/sdk/tasks/{run_id}:0/decide", json={"comment": "x"}), 400)
