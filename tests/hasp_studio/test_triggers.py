"""Triggers really start runs on the `hasp-studio` engine: a schedule (its periodic job run
directly with a test clock), a record change (reported through the record port the records
domain fills; here a fake), a workflow calling another, an approval pausing the run."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from agentyard import flows
from agentyard.core import jobs
from agentyard.core.keys import Tenant
from agentyard.core.store import connection
from agentyard.hasp import orgs
from agentyard.hasp.studio import record_port, record_steps, schedules
from agentyard.hasp.studio.workflow_models import StudioRun, StudioWorkflow
from tests.hasp_studio.conftest import Client, new_project


@pytest.fixture
def consumer(app):
    jobs.start_consumer(workers=2, poll_interval=0.05, scheduler_interval=0.05)
    yield
    jobs.stop_consumer()


class FakeRecords:
    """Records in memory, as the records domain would answer."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.scopes: list[record_port.RecordScope] = []

    def create(self, scope, entity, values):
        self.scopes.append(scope)
        row = {"id": f"rec_{len(self.rows)}", "entity": entity, **values}
        self.rows.append(row)
        return row

    def update(self, scope, entity, record_id, values):
        row = next((r for r in self.rows if r["id"] == record_id), None)
        if row is None:
            raise LookupError(f"no record {record_id}")
        row.update(values)
        return row

    def query(self, scope, entity, where, limit):
        return [r for r in self.rows if all(r.get(k) == v for k, v in where.items())][:limit]


@pytest.fixture
def records():
    fake = FakeRecords()
    record_port.connect(fake)
    yield fake
    record_port.connect(record_steps.ADAPTER)


@pytest.fixture
def no_records():
    """A server whose record port is not connected (the real adapter is put back after)."""
    record_port.connect(None)
    yield
    record_port.connect(record_steps.ADAPTER)


def started_by(change: record_port.RecordChange) -> list[str]:
    """The runs the record-change triggers started for `change` (reported through the port)."""
    answers = record_port.changed(change)
    return next(a for a in answers if isinstance(a, list))


def allow_phi(client: Client) -> None:
    with connection():
        orgs.update(Tenant.get_by_id(client.account.org_id), {"phi_mode": "allow"})


def workflow(client: Client, project_id: str, definition: dict, name: str = "Flow") -> dict:
    r = client.post(
        f"/projects/{project_id}/workflows", json={"name": name, "definition": definition}
    )
    assert r.status_code == 201, r.text
    return r.json()["data"]


def wait_run(run_id: str, until=flows.models.FINAL_STATUSES, timeout: float = 30.0):
    deadline = time.time() + timeout
    while True:
        with connection():
            run = flows.get_run(run_id)
        if run.status in until or time.time() > deadline:
            return run
        time.sleep(0.1)


def runs_of(workflow_id: str) -> list[StudioRun]:
    with connection():
        return list(StudioRun.select().where(StudioRun.workflow == workflow_id))


def test_a_schedule_fires_runs(owner: Client, consumer, records) -> None:
    allow_phi(owner)
    project = new_project(owner)
    wf = workflow(
        owner,
        project["id"],
        {
            "trigger": {"type": "schedule", "cron": "*/5 * * * *", "input": {"kind": "daily"}},
            "steps": [
                {"id": "hello", "type": "ai_chat", "prompt": "Write a {{ input.kind }} digest"},
                {
                    "id": "save",
                    "type": "record_create",
                    "entity": "digests",
                    "values": {"text": "@hello.text", "when": "@trigger.scheduled_for"},
                },
            ],
            "output": "@save.id",
        },
    )
    with connection():
        due = StudioWorkflow.get_by_id(wf["id"]).next_fire_at
    assert due.minute % 5 == 0 and due.second == 0
    with connection():
        early = schedules.fire_due(due - dt.timedelta(seconds=1))
    assert runs_of(wf["id"]) == [] and isinstance(early, list)
    with connection():
        started = schedules.fire_due(due + dt.timedelta(seconds=1))
        # Claimed once: firing again at the same time starts nothing more for it.
        again = schedules.fire_due(due + dt.timedelta(seconds=1))
    mine = [r.run_id for r in runs_of(wf["id"])]
    assert len(mine) == 1 and mine[0] in started and mine[0] not in again
    run = wait_run(mine[0])
    assert run.status == "completed", run.error
    assert run.output == records.rows[-1]["id"]
    assert records.rows[-1]["entity"] == "digests"
    assert records.rows[-1]["text"]
    assert records.scopes[-1].project_id == project["id"]
    assert records.scopes[-1].actor == record_port.Actor("workflow", mine[0])
    with connection():
        trigger = StudioRun.get_by_id(mine[0]).trigger
        nxt = StudioWorkflow.get_by_id(wf["id"]).next_fire_at
    assert trigger["type"] == "schedule" and trigger["scheduled_for"].startswith(
        due.isoformat()[:16]
    )
    assert nxt == due + dt.timedelta(minutes=5)


def test_the_periodic_job_is_registered() -> None:
    names = {getattr(t, "__name__", "") for t in jobs.huey._registry._periodic_tasks}
    assert "hasp_studio.schedules" in names


def test_record_change_starts_matching_workflows(owner: Client, consumer, records) -> None:
    allow_phi(owner)
    project = new_project(owner)
    on_status = workflow(
        owner,
        project["id"],
        {
            "trigger": {
                "type": "record_change",
                "entity": "patients",
                "field": "status",
                "events": ["updated"],
            },
            "steps": [
                {
                    "id": "log",
                    "type": "record_create",
                    "entity": "audit_notes",
                    "values": {"patient": "@input.record_id", "status": "@input.record.status"},
                }
            ],
        },
        name="On status",
    )
    any_field = workflow(
        owner,
        project["id"],
        {
            "trigger": {"type": "record_change", "entity": "patients"},
            "steps": [{"id": "find", "type": "record_query", "entity": "patients", "where": {}}],
        },
        name="Any change",
    )
    change = record_port.RecordChange(
        org_id=owner.account.org_id,
        project_id=project["id"],
        entity_id="ent_1",
        entity_name="patients",
        event="updated",
        record_id="rec_9",
        fields=("status",),
        before={"status": "new"},
        after={"status": "seen"},
    )
    with connection():
        started = started_by(change)
    assert len(started) == 2
    for run_id in started:
        assert wait_run(run_id).status == "completed"
    assert {
        "id": "rec_0",
        "entity": "audit_notes",
        "patient": "rec_9",
        "status": "seen",
    } in records.rows
    # Another field: only the `*` workflow; another entity or project: none.
    with connection():
        other_field = started_by(
            record_port.RecordChange(**{**change.__dict__, "fields": ("name",)})
        )
        other_entity = started_by(
            record_port.RecordChange(
                **{**change.__dict__, "entity_name": "visits", "entity_id": "e2"}
            )
        )
        elsewhere = started_by(
            record_port.RecordChange(**{**change.__dict__, "project_id": new_project(owner)["id"]})
        )
    assert len(other_field) == 1 and other_field[0] in [r.run_id for r in runs_of(any_field["id"])]
    assert other_entity == [] and elsewhere == []
    assert len(runs_of(on_status["id"])) == 1
    # A change the workflow's own run made does not start it again.
    own = runs_of(on_status["id"])[0].run_id
    with connection():
        looped = started_by(
            record_port.RecordChange(
                **{**change.__dict__, "actor": record_port.Actor("workflow", own)}
            )
        )
    assert len(looped) == 1 and looped[0] not in [r.run_id for r in runs_of(on_status["id"])]


def test_record_steps_fail_cleanly_without_records(owner: Client, consumer, no_records) -> None:
    project = new_project(owner)
    wf = workflow(
        owner,
        project["id"],
        {
            "trigger": {"type": "schedule", "cron": "* * * * *"},
            "steps": [{"id": "q", "type": "record_query", "entity": "x"}],
        },
    )
    with connection():
        due = StudioWorkflow.get_by_id(wf["id"]).next_fire_at
        schedules.fire_due(due)
    run = wait_run(runs_of(wf["id"])[0].run_id)
    assert run.status == "failed" and run.error["code"] == "records_unavailable"


def test_call_workflow_and_approval(owner: Client, consumer, records) -> None:
    allow_phi(owner)
    project = new_project(owner)
    workflow(
        owner,
        project["id"],
        {
            "trigger": {"type": "manual"},
            "steps": [
                {
                    "id": "make",
                    "type": "record_create",
                    "entity": "tasks",
                    "values": {"title": "@input.title"},
                }
            ],
            "output": "@make.id",
        },
        name="Make task",
    )
    parent = workflow(
        owner,
        project["id"],
        {
            "trigger": {"type": "schedule", "cron": "* * * * *"},
            "steps": [
                {
                    "id": "child",
                    "type": "call_workflow",
                    "workflow": "make-task",
                    "input": {"title": "follow up"},
                },
                {"id": "ok", "type": "approval", "title": "Send it?", "role": "reviewer"},
                {
                    "id": "done",
                    "type": "condition",
                    "branches": [
                        {
                            "when": {"equals": ["@ok.approved", True]},
                            "steps": [
                                {
                                    "id": "mark",
                                    "type": "record_update",
                                    "entity": "tasks",
                                    "record_id": "@child.output",
                                    "values": {"approved": True},
                                }
                            ],
                        }
                    ],
                },
            ],
        },
        name="Parent",
    )
    with connection():
        schedules.fire_due(StudioWorkflow.get_by_id(parent["id"]).next_fire_at)
    run_id = runs_of(parent["id"])[0].run_id
    run = wait_run(run_id, until={"paused", "failed", "completed"})
    assert run.status == "paused" and run.pause_kind == "approval", run.error
    assert run.pause_payload["title"] == "Send it?"
    with connection():
        child = StudioRun.get(StudioRun.parent_run_id == run_id)
        flows.resume(run_id, run.pause_path, {"approved": True, "decided_by": "usr_x"})
    run = wait_run(run_id)
    assert run.status == "completed", run.error
    assert records.rows == [
        {"id": "rec_0", "entity": "tasks", "title": "follow up", "approved": True}
    ]
    assert child.trigger["type"] == "workflow" and wait_run(child.run_id).status == "completed"


def test_ai_chat_redacts_phi_with_the_org_policy(owner: Client, consumer, records) -> None:
    project = new_project(owner)
    wf = workflow(
        owner,
        project["id"],
        {
            "trigger": {"type": "schedule", "cron": "* * * * *"},
            "steps": [
                {
                    "id": "ask",
                    "type": "ai_chat",
                    "prompt": "Patient Margaret Okafor, MRN 00482913, needs a refill",
                }
            ],
            "output": "@ask",
        },
    )
    with connection():
        schedules.fire_due(StudioWorkflow.get_by_id(wf["id"]).next_fire_at)
    run = wait_run(runs_of(wf["id"])[0].run_id, timeout=90)
    assert run.status == "completed", run.error
    assert run.output["phi"]["mode"] == "redact" and run.output["phi"]["redacted"]
    with connection():
        orgs.update(Tenant.get_by_id(owner.account.org_id), {"phi_mode": "block"})
        schedules.fire_due(StudioWorkflow.get_by_id(wf["id"]).next_fire_at)
    runs = sorted(runs_of(wf["id"]), key=lambda r: r.created_at)
    blocked = wait_run(runs[-1].run_id, timeout=90)
    assert blocked.status == "failed" and blocked.error["code"] == "phi_blocked"


def test_a_record_changed_over_http_starts_its_record_change_workflow(owner: Client, consumer):
    # The records domain reports every committed change to the record port (no fake here).
    from tests.hasp_studio.test_entities import new_entity

    project = new_project(owner)
    entity = new_entity(owner, project["id"])
    wf = workflow(
        owner,
        project["id"],
        {
            "trigger": {"type": "record_change", "entity": entity["key"], "events": ["created"]},
            "steps": [{"id": "ok", "type": "approval", "title": "Check", "role": "reviewer"}],
        },
        name="On new patient",
    )
    assert runs_of(wf["id"]) == []
    r = owner.post(f"/entities/{entity['id']}/records", json={"data": {"name": "Ann", "age": 4}})
    assert r.status_code == 201, r.text
    started = runs_of(wf["id"])
    assert len(started) == 1
    assert started[0].trigger["record_id"] == r.json()["data"]["id"]
