"""Workflow steps reach the org's records and integrations: a manual workflow started through
its inbound webhook creates, updates and queries records (seen by the records API, the
project's outbound webhooks and the record-change triggers; a retried create makes no second
record; another project's entity fails the step), and `integration_call` talks to local fakes
(an HTTP API, a Slack-style webhook, an SMTP server) and the CI PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg2
import pytest
from flask import Flask, request

from agentyard import flows
from agentyard.core import jobs
from agentyard.core.store import connection
from agentyard.hasp.studio import (
    integration_calls,
    integration_port,
    record_port,
    record_steps,
)
from agentyard.hasp.studio.workflow_models import StudioRun
from tests.hasp_studio.conftest import Client, Studio, new_project
from tests.hasp_studio.test_entities import new_entity
from tests.kit import smtp as fake_smtp
from tests.local_server import LocalServer

SECRET = "Bearer sk-live-0123456789abcd"


@pytest.fixture
def consumer(app) -> Iterator[None]:
    jobs.start_consumer(workers=2, poll_interval=0.05, scheduler_interval=0.05)
    yield
    jobs.stop_consumer()


@pytest.fixture(autouse=True)
def ports() -> None:
    """The real adapters (another test module may have swapped in a fake and left none)."""
    record_port.connect(record_steps.ADAPTER)
    integration_port.connect(integration_calls.ADAPTER)


class Fake:
    """A local HTTP peer: an API answering JSON, a Slack-style webhook, an event receiver."""

    def __init__(self) -> None:
        self.seen: list[dict] = []
        app = Flask("fake")

        @app.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
        def any_path(path: str):
            body = request.get_data()
            self.seen.append({
                "method": request.method, "path": "/" + path, "body": body,
                "args": request.args.to_dict(flat=False), "headers": dict(request.headers),
            })  # fmt: skip
            if path.startswith("services/"):
                return "ok", 200, {"Content-Type": "text/plain"}
            if path.endswith("missing"):
                return {"error": "not here"}, 404
            if path == "hook":
                return "", 204
            return {"path": "/" + path, "got": json.loads(body) if body else None}, 201, {
                "ETag": '"v7"', "X-Secret-Internal": "no"
            }  # fmt: skip

        self.server = LocalServer(app)
        self.url = self.server.url

    def events(self) -> list[dict]:
        return [json.loads(s["body"]) for s in self.seen if s["path"] == "/hook"]


@pytest.fixture
def fake() -> Iterator[Fake]:
    f = Fake()
    yield f
    f.server.close()


def wait_run(run_id: str, timeout: float = 30.0) -> flows.Run:
    deadline = time.time() + timeout
    while True:
        with connection():
            run = flows.get_run(run_id)
        if run.status in flows.models.FINAL_STATUSES or run.status == "paused":
            return run
        if time.time() > deadline:
            return run
        time.sleep(0.05)


def run_manually(client: Client, project_id: str, steps: list, output, data: dict) -> flows.Run:
    """Save a manual workflow, bind an inbound webhook to it, call it signed, await the run."""
    r = client.post(
        f"/projects/{project_id}/workflows",
        json={"name": f"Manual {time.monotonic_ns()}",
              "definition": {"trigger": {"type": "manual"}, "steps": steps, "output": output}},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    r = client.post(
        f"/projects/{project_id}/webhooks",
        json={"direction": "inbound", "name": "start", "workflow_id": r.json()["data"]["id"]},
    )
    assert r.status_code == 201, r.text
    hook = r.json()["data"]
    body = json.dumps(data).encode()
    signature = "sha256=" + hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
    r = client.http.post(
        f"/api/internal/webhooks/{hook['id']}/inbound", content=body,
        headers={"Content-Type": "application/json", "X-Hasp-Signature-256": signature},
    )  # fmt: skip
    assert r.status_code == 202, r.text
    return wait_run(r.json()["data"]["run_id"])


def runs_of(workflow_id: str) -> list[StudioRun]:
    with connection():
        return list(StudioRun.select().where(StudioRun.workflow == workflow_id))


def record_change_workflow(client: Client, project_id: str, entity: str, steps: list) -> dict:
    r = client.post(
        f"/projects/{project_id}/workflows",
        json={"name": f"On {entity} {time.monotonic_ns()}",
              "definition": {"trigger": {"type": "record_change", "entity": entity,
                                         "events": ["created"]}, "steps": steps}},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()["data"]


def test_a_manual_run_creates_updates_and_queries_records(
    owner: Client, fake: Fake, consumer
) -> None:
    project = new_project(owner)
    entity = new_entity(owner, project["id"])
    r = owner.post(
        f"/projects/{project['id']}/webhooks",
        json={"direction": "outbound", "name": "CRM", "url": fake.url + "/hook",
              "events": ["record.created", "record.updated"]},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    watcher = record_change_workflow(
        owner, project["id"], "patient",
        [{"id": "look", "type": "approval", "title": "New patient {{ input.record.name }}"}],
    )  # fmt: skip
    run = run_manually(
        owner,
        project["id"],
        [
            {
                "id": "make",
                "type": "record_create",
                "entity": "patient",
                "values": {"name": "@input.name", "age": 41},
            },
            {
                "id": "close",
                "type": "record_update",
                "entity": entity["id"],
                "record_id": "@make.id",
                "values": {"status": "closed"},
            },
            {
                "id": "find",
                "type": "record_query",
                "entity": "patient",
                "where": {"name": "@input.name", "status": "closed"},
            },
        ],  # fmt: skip
        {"id": "@make.id", "count": "@find.count", "status": "@close.data.status"},
        {"name": "Ann Lee"},
    )
    assert run.status == "completed", run.error
    record_id = run.output["id"]
    assert run.output == {"id": record_id, "count": 1, "status": "closed"}

    got = owner.get(f"/entities/{entity['id']}/records/{record_id}")
    assert got.status_code == 200, got.text
    record = got.json()["data"]
    assert record["data"] == {"name": "Ann Lee", "mrn": None, "age": 41, "status": "closed"}
    assert record["version"] == 2 and record["created_by"] == run.id == record["updated_by"]

    # The record-change trigger started its workflow for the workflow-made record.
    started = runs_of(watcher["id"])
    assert len(started) == 1
    assert started[0].trigger["record_id"] == record_id
    assert started[0].trigger["actor"] == {"type": "workflow", "id": run.id}
    assert wait_run(started[0].run_id).status == "paused"

    # The project's outbound webhook got both changes.
    deadline = time.time() + 15
    while len(fake.events()) < 2 and time.time() < deadline:
        time.sleep(0.05)
    events = sorted(fake.events(), key=lambda e: e["event"])
    assert [e["event"] for e in events] == ["record.created", "record.updated"]
    assert all(e["data"]["record_id"] == record_id for e in events)
    assert events[1]["data"]["fields"] == ["status"]


def test_a_workflow_does_not_retrigger_itself(owner: Client, consumer) -> None:
    project = new_project(owner)
    new_entity(owner, project["id"], key="note", fields=[{"name": "text", "type": "string"}])
    looper = record_change_workflow(
        owner, project["id"], "note",
        [{"id": "echo", "type": "record_create", "entity": "note",
          "values": {"text": "echo of {{ input.record.text }}"}}],
    )  # fmt: skip
    run = run_manually(
        owner, project["id"],
        [{"id": "first", "type": "record_create", "entity": "note", "values": {"text": "hi"}}],
        "@first.id", {},
    )  # fmt: skip
    assert run.status == "completed", run.error
    started = runs_of(looper["id"])
    assert len(started) == 1
    assert wait_run(started[0].run_id).status == "completed"
    # Its own create did not start it again (runs start when the change commits).
    assert len(runs_of(looper["id"])) == 1


def test_retried_create_is_idempotent_and_refusals_are_messages(owner: Client) -> None:
    project = new_project(owner)
    entity = new_entity(owner, project["id"])
    scope = record_port.RecordScope(
        owner.account.org_id, project["id"], record_port.Actor("workflow", "wfr_test"),
        idempotency_key="wfr_test:/steps/0",
    )  # fmt: skip
    port = record_port.port()
    with connection():
        first = port.create(scope, "patient", {"name": "Bo"})
        again = port.create(scope, entity["id"], {"name": "Bo"})
        other = port.create(
            record_port.RecordScope(**{**scope.__dict__, "idempotency_key": "wfr_test:/steps/1"}),
            "patient", {"name": "Bo"},
        )  # fmt: skip
        with pytest.raises(ValueError, match="age"):
            port.create(scope.__class__(**{**scope.__dict__, "idempotency_key": None}),
                        "patient", {"name": "Cy", "age": "old"})  # fmt: skip
        with pytest.raises(LookupError):
            port.update(scope, "patient", "rec_nope", {"age": 3})
        with pytest.raises(LookupError):
            port.query(scope, "no_such_entity", {}, 10)
        with pytest.raises(ValueError, match="not a field"):
            port.query(scope, "patient", {"colour": "red"}, 10)
    assert again == first and other["id"] != first["id"]
    listed = owner.get(f"/entities/{entity['id']}/records").json()["data"]
    assert sorted(r["id"] for r in listed) == sorted([first["id"], other["id"]])


def test_another_projects_entity_fails_the_step(studio: Studio, owner: Client, consumer) -> None:
    mine = new_project(owner)
    theirs = new_project(owner)
    foreign = new_entity(owner, theirs["id"])
    stranger = studio.member("owner")
    elsewhere = new_entity(stranger, new_project(stranger)["id"])
    for ref in (foreign["id"], "patient", elsewhere["id"]):
        run = run_manually(
            owner, mine["id"],
            [{"id": "make", "type": "record_create", "entity": ref, "values": {"name": "X"}}],
            None, {},
        )  # fmt: skip
        assert run.status == "failed"
        assert run.error["code"] == "record_error"
        assert run.error["message"] == f"no entity {ref!r} in this workflow's project"
    assert owner.get(f"/entities/{foreign['id']}/records").json()["data"] == []


def _integration(client: Client, **body) -> dict:
    r = client.post(f"/orgs/{client.account.org_id}/integrations", json=body)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def test_integration_call_http_and_slack(studio: Studio, owner: Client, fake: Fake, consumer):
    api = _integration(
        owner, name="EHR", kind="http", secret=SECRET,
        config={"base_url": fake.url + "/api", "auth_header": "X-Api-Key"},
    )  # fmt: skip
    _integration(  # a Slack-style webhook, called by its name below
        owner, name="team", kind="slack_webhook", config={}, secret=fake.url + "/services/T0/B0/XX"
    )
    project = new_project(owner)
    run = run_manually(
        owner, project["id"],
        [{"id": "call", "type": "integration_call", "integration": api["id"],
          "operation": "request",
          "input": {"method": "POST", "path": "/orders", "query": {"dry": "1", "tag": ["a", "b"]},
                    "json": {"patient": "@input.who"}}},
         {"id": "say", "type": "integration_call", "integration": "team", "operation": "post",
          "input": {"text": "Order for {{ input.who }} placed"}}],
        {"call": "@call", "say": "@say"}, {"who": "Ann"},
    )  # fmt: skip
    assert run.status == "completed", run.error
    call = run.output["call"]
    assert call["status"] == 201 and call["json"] == {
        "path": "/api/orders",
        "got": {"patient": "Ann"},
    }
    assert call["headers"]["etag"] == '"v7"' and "x-secret-internal" not in call["headers"]
    sent = next(s for s in fake.seen if s["path"] == "/api/orders")
    assert sent["method"] == "POST" and sent["args"] == {"dry": ["1"], "tag": ["a", "b"]}
    assert sent["headers"]["X-Api-Key"] == SECRET
    assert sent["headers"]["Idempotency-Key"] == f"{run.id}:0"
    assert run.output["say"] == {"status": 200, "text": "ok"}
    posted = next(s for s in fake.seen if s["path"].startswith("/services/"))
    assert json.loads(posted["body"]) == {"text": "Order for Ann placed"}

    # Failures fail the step with their message: a non-2xx answer, an operation the kind does
    # not have, another org's integration.
    stranger = studio.member("owner")
    theirs = _integration(stranger, name="x", kind="http", config={"base_url": fake.url})
    cases = [
        (api["id"], "request", {"path": "/missing"}, "HTTP 404 from GET /missing"),
        (api["id"], "query", {}, "a http integration has no operation 'query'"),
        (theirs["id"], "request", {}, f"no integration {theirs['id']!r} in this organization"),
    ]
    for ref, operation, data, message in cases:
        run = run_manually(
            owner, project["id"],
            [{"id": "call", "type": "integration_call", "integration": ref,
              "operation": operation, "input": data}],
            None, {},
        )  # fmt: skip
        assert run.status == "failed" and run.error["code"] == "integration_error"
        assert run.error["message"].startswith(message), run.error


@pytest.fixture
def smtp() -> Iterator[fake_smtp.FakeSmtp]:
    with fake_smtp.serving() as server:
        yield server


def test_integration_call_smtp_send(owner: Client, smtp) -> None:
    mail = _integration(
        owner, name="mail", kind="smtp",
        config={"host": "127.0.0.1", "port": smtp.server_address[1], "tls": "none"},
    )  # fmt: skip
    with connection():
        out = integration_port.port().call(
            owner.account.org_id, mail["id"], "send",
            {"to": ["ann@example.org"], "from": "clinic@example.org", "subject": "Your visit",
             "body": "See you Monday."},
            "wfr_x:/steps/0",
        )  # fmt: skip
    assert out["accepted"] == ["ann@example.org"] and out["refused"] == {}
    [message] = smtp.messages
    assert "Subject: Your visit" in message and "See you Monday." in message
    assert out["message_id"] in message


def test_integration_call_postgresql_query(owner: Client) -> None:
    if not os.environ.get("AGENTYARD_TEST_DATABASE_URL"):
        pytest.skip("AGENTYARD_TEST_DATABASE_URL is not set")
    url = urlsplit(os.environ["AGENTYARD_TEST_DATABASE_URL"])
    try:
        psycopg2.connect(os.environ["AGENTYARD_TEST_DATABASE_URL"], connect_timeout=3).close()
    except psycopg2.Error:
        pytest.skip("no PostgreSQL to test against")
    made = _integration(
        owner, name="warehouse", kind="postgresql", secret=url.password or "unused-password",
        config={"host": url.hostname, "port": url.port or 5432,
                "database": url.path.lstrip("/"), "user": url.username or "postgres",
                "sslmode": "disable"},
    )  # fmt: skip
    port = integration_port.port()

    def query(data: dict) -> dict:
        with connection():
            return port.call(owner.account.org_id, made["name"], "query", data, "k")

    out = query({"sql": "SELECT n, n * 2 AS twice, now()::date AS day FROM generate_series(1, %s)"
                        " AS n ORDER BY n;", "params": [5], "max_rows": 3})  # fmt: skip
    assert out["columns"] == ["n", "twice", "day"] and out["truncated"] is True
    assert [r["twice"] for r in out["rows"]] == [2, 4, 6] and out["row_count"] == 3
    named = query({"sql": "SELECT %(a)s::int + 1 AS b", "params": {"a": 41}})
    assert named["rows"] == [{"b": 42}]
    for sql, message in [
        ("SELECT 1; DROP TABLE hasp_studio_integration", "one statement"),
        ("SELECT E'\\''; SELECT 2", "one statement"),
        ("SELECT x$$; SELECT 2; $$", "one statement"),
        ("CREATE TABLE should_not_exist (a int)", "read-only"),
    ]:
        with pytest.raises(RuntimeError, match=message):
            query({"sql": sql})
    assert query({"sql": "SELECT ';' AS semi -- ; a comment"})["rows"] == [{"semi": ";"}]
