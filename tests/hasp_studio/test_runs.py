"""Runs over HTTP: a manual run needs a published version and runs it; a run in flight keeps its
version across another publish; triggers run the published version; a test run runs the draft
in a sandbox that sends and writes nothing (recorded as would_have_sent); the palette's
workflow.run; roles and tenancy."""

from __future__ import annotations

import pytest

from agentyard import flows
from agentyard.core import webhooks
from agentyard.core.store import connection, write
from agentyard.hasp.studio import integration_port, record_port, schedules, workflow_format
from agentyard.hasp.studio.workflow_models import StudioRun, StudioWorkflow
from tests.hasp_studio.conftest import Client, Studio, new_project
from tests.hasp_studio.publishing import publish
from tests.hasp_studio.test_triggers import FakeRecords, allow_phi, wait_run, workflow


@pytest.fixture
def consumer(app):
    from agentyard.core import jobs

    jobs.start_consumer(workers=2, poll_interval=0.05, scheduler_interval=0.05)
    yield
    jobs.stop_consumer()


class FakeIntegrations:
    """An integration adapter that keeps every call it is sent (the receiver)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict]] = []

    def call(self, org_id, integration_id, operation, input, idempotency_key):
        self.calls.append((integration_id, operation, dict(input)))
        return {"ok": True}


@pytest.fixture
def ports():
    recs, ints = FakeRecords(), FakeIntegrations()
    record_port.connect(recs)
    integration_port.connect(ints)
    yield recs, ints
    record_port.connect(None)
    integration_port.connect(None)


def gated(output: str) -> dict:
    """A manual workflow that pauses for an approval, then outputs `output`."""
    return {
        "trigger": {"type": "manual"},
        "steps": [{"id": "ok", "type": "approval", "title": "Go?"}],
        "output": output,
    }


def redefine(workflow_id: str, definition: dict) -> None:
    """Change a workflow's draft (the authoring update route is not this suite's)."""
    checked = workflow_format.check(definition)
    with connection(), write():
        StudioWorkflow.update(definition=definition, compiled=checked.compiled).where(
            StudioWorkflow.id == workflow_id
        ).execute()


def approve(run_id: str) -> None:
    run = wait_run(run_id, until={"paused", "failed"})
    assert run.status == "paused", run.error
    with connection():
        flows.resume(run_id, run.pause_path, {"approved": True, "decided_by": "usr_test"})


def test_a_run_needs_a_published_version_and_runs_it(owner: Client, consumer) -> None:
    project = new_project(owner)
    wf = workflow(owner, project["id"], gated("v1"))
    refused = owner.post(f"/workflows/{wf['id']}/runs", json={"input": {"n": 1}})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "NOT_PUBLISHED"

    release_id = publish(project["id"])
    r = owner.post(f"/workflows/{wf['id']}/runs", json={"input": {"n": 1}})
    assert r.status_code == 201, r.text
    run = r.json()["data"]
    assert run["release_id"] == release_id and run["sandbox"] is False
    assert run["trigger"]["type"] == "manual" and run["trace_id"] == run["id"]
    approve(run["id"])
    assert wait_run(run["id"]).status == "completed"

    listed = owner.get(f"/workflows/{wf['id']}/runs").json()["data"]
    assert [x["id"] for x in listed] == [run["id"]]
    assert listed[0]["status"] == "completed" and listed[0]["duration_ms"] >= 0
    assert listed[0]["finished_at"] is not None and "output" not in listed[0]
    assert owner.get(f"/workflows/{wf['id']}/runs?status=failed").json()["data"] == []


def test_a_run_in_flight_finishes_on_its_version(owner: Client, consumer) -> None:
    project = new_project(owner)
    wf = workflow(owner, project["id"], gated("v1"))
    first = publish(project["id"])
    old = owner.post(f"/workflows/{wf['id']}/runs", json={}).json()["data"]
    wait_run(old["id"], until={"paused"})

    redefine(wf["id"], gated("v2"))
    second = publish(project["id"])
    new = owner.post(f"/workflows/{wf['id']}/runs", json={}).json()["data"]
    assert (old["release_id"], new["release_id"]) == (first, second)
    approve(old["id"])
    approve(new["id"])
    assert wait_run(old["id"]).output == "v1"
    assert wait_run(new["id"]).output == "v2"


def test_triggers_run_the_published_version_or_the_draft(owner: Client, consumer) -> None:
    project = new_project(owner)
    definition = {
        "trigger": {"type": "schedule", "cron": "* * * * *"},
        "steps": [{"id": "ok", "type": "approval", "title": "Go?"}],
        "output": "v1",
    }
    wf = workflow(owner, project["id"], definition)

    def fire() -> StudioRun:
        with connection():
            due = StudioWorkflow.get_by_id(wf["id"]).next_fire_at
            (run_id,) = schedules.fire_due(due)
            return StudioRun.get_by_id(run_id)

    assert fire().release_id is None  # nothing published: the draft, as before releases
    release_id = publish(project["id"])
    redefine(wf["id"], {**definition, "output": "draft"})
    published = fire()
    assert published.release_id == release_id
    approve(published.run_id)
    assert wait_run(published.run_id).output == "v1"


def test_a_test_run_sends_and_writes_nothing(owner: Client, consumer, ports) -> None:
    records, integrations = ports
    allow_phi(owner)
    project = new_project(owner)
    hook = owner.post(
        f"/projects/{project['id']}/webhooks",
        json={"direction": "outbound", "name": "crm", "url": "https://hooks.example.org/in",
              "events": ["record.created"]},
    )  # fmt: skip
    assert hook.status_code == 201, hook.text
    hook_id = hook.json()["data"]["id"]
    wf = workflow(
        owner,
        project["id"],
        {
            "trigger": {"type": "manual"},
            "steps": [
                {"id": "push", "type": "integration_call", "integration": "int_crm",
                 "operation": "POST /contacts", "input": {"name": "@input.name"}},
                {"id": "save", "type": "record_create", "entity": "contacts",
                 "values": {"name": "@input.name"}},
            ],
            "output": "@save.sandbox",
        },
    )  # fmt: skip
    r = owner.post(f"/workflows/{wf['id']}/test?wait=30", json={"input": {"name": "Ada"}})
    assert r.status_code == 200, r.text
    run = r.json()["data"]
    assert run["status"] == "completed" and run["sandbox"] is True and run["output"] is True
    assert run["release_id"] is None and run["trigger"]["type"] == "test"
    assert integrations.calls == [] and records.rows == []
    with connection():
        queued = webhooks.Delivery.select().where(webhooks.Delivery.endpoint_ref == hook_id)
        assert queued.count() == 0

    trace = owner.get(f"/traces/{run['id']}").json()["data"]
    sent = [w["data"] for w in trace["would_have_sent"]]
    assert [s["kind"] for s in sent] == ["integration_call", "record_write", "webhook"]
    assert sent[0]["integration"] == "int_crm" and sent[0]["operation"] == "POST /contacts"
    assert sent[1]["entity"] == "contacts" and sent[1]["event"] == "created"
    assert sent[2]["webhook_id"] == hook_id and sent[2]["event"] == "record.created"

    # the same steps outside the sandbox do call the port (the check is what held them back)
    publish(project["id"])
    live = owner.post(f"/workflows/{wf['id']}/runs", json={"input": {"name": "Ada"}})
    assert wait_run(live.json()["data"]["id"]).status == "completed"
    assert integrations.calls == [("int_crm", "POST /contacts", {"name": "Ada"})]
    assert [r["name"] for r in records.rows] == ["Ada"]


def test_a_test_run_still_paused_answers_202(owner: Client, consumer) -> None:
    project = new_project(owner)
    wf = workflow(owner, project["id"], gated("v1"))
    r = owner.post(f"/workflows/{wf['id']}/test?wait=0", json={})
    assert r.status_code == 202, r.text
    assert r.json()["data"]["status"] in ("running", "paused") and r.json()["data"]["sandbox"]


def test_palette_workflow_run(owner: Client, consumer) -> None:
    project = new_project(owner)
    wf = workflow(owner, project["id"], gated("v1"))
    body = {"command": "workflow.run", "args": {"workflow_id": wf["id"], "input": {"a": 1}}}
    refused = owner.post("/palette/execute", json=body)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "NOT_PUBLISHED"
    release_id = publish(project["id"])
    r = owner.post("/palette/execute", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["result"]["release_id"] == release_id
    bad = owner.post("/palette/execute", json={"command": "workflow.run", "args": {}})
    assert bad.status_code == 422


def test_roles_and_tenancy(studio: Studio, owner: Client, consumer) -> None:
    project = new_project(owner)
    wf = workflow(owner, project["id"], gated("v1"))
    publish(project["id"])
    viewer = studio.member("viewer", org=owner.account.org)
    r = owner.post(
        f"/projects/{project['id']}/members", json={"email": viewer.account.email, "role": "viewer"}
    )
    assert r.status_code in (200, 201), r.text
    assert viewer.get(f"/workflows/{wf['id']}/runs").status_code == 200
    denied = viewer.post(f"/workflows/{wf['id']}/runs", json={})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "FORBIDDEN"
    assert viewer.post(f"/workflows/{wf['id']}/test", json={}).status_code == 403
    stranger = studio.member("owner")
    assert stranger.get(f"/workflows/{wf['id']}/runs").status_code == 404
    assert stranger.post(f"/workflows/{wf['id']}/runs", json={}).status_code == 404
    assert owner.get("/workflows/wf_nope/runs").status_code == 404
