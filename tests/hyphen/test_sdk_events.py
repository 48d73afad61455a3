"""GET /sdk/events over HTTP: every event name with its payload, ids and Last-Event-ID resume
(on another server process too), heartbeats, filtering by the key's workflows and tables,
session:expired and a revoked session's error, the Accept check, tenancy; on every backend
(the scaled one through Redis)."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from agentyard.core import clock
from agentyard.core.store import connection, write
from agentyard.hyphen import sdk_events, sdk_stream, sdk_stream_log
from agentyard.hyphen.sdk_models import SdkSession
from tests.hyphen.conftest import error
from tests.hyphen.gateway_kit import Signup, signup
from tests.hyphen.http_kit import consumer, poll, queue_name  # noqa: F401 - fixtures
from tests.hyphen.test_sdk_auth import ORIGIN, accounts, make_key, session, sign_in
from tests.hyphen.test_sdk_tasks import APPROVAL
from tests.kit.server import free_port

ORDERS = [{"name": "item", "type": "text"}, {"name": "qty", "type": "integer"}]


@dataclass
class Event:
    type: str | None
    id: str | None
    data: object


@dataclass
class Stream:
    """One `GET /sdk/events` read in a thread: its events, comments and status."""

    url: str
    headers: dict[str, str]
    events: list[Event] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    status: int | None = None
    body: str = ""
    ended: threading.Event = field(default_factory=threading.Event)
    opened: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Stream:
        threading.Thread(target=self._read, daemon=True).start()
        assert self.opened.wait(20), "the stream did not open"
        return self

    def _read(self) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(60, read=60)) as client,
                client.stream("GET", self.url, headers=self.headers) as r,
            ):
                self.status = r.status_code
                if r.status_code != 200:
                    self.body = r.read().decode()
                    return
                event: dict[str, str] = {}
                data: list[str] = []
                for line in r.iter_lines():
                    if self.stop.is_set():
                        return
                    if line.startswith(":"):
                        self.comments.append(line[1:].strip())
                        self.opened.set()
                    elif line.startswith("data:"):
                        data.append(line[5:].lstrip())
                    elif line.startswith(("event:", "id:")):
                        name, _, value = line.partition(":")
                        event[name] = value.lstrip()
                    elif line == "" and data:
                        text = "\n".join(data)
                        self.events.append(
                            Event(event.get("event"), event.get("id"), json.loads(text))
                        )
                        event, data = {}, []
        except httpx.HTTPError:
            pass
        finally:
            self.opened.set()
            self.ended.set()

    def wait_for(self, type_: str, where=lambda data: True, timeout: float = 20) -> Event:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in list(self.events):
                if e.type == type_ and where(e.data):
                    return e
            time.sleep(0.02)
        raise AssertionError(f"no {type_} in {[(e.type, e.data) for e in self.events]}")

    def types(self) -> list[str | None]:
        return [e.type for e in self.events]

    def close(self) -> None:
        self.stop.set()


def token_of(client: httpx.Client) -> str:
    return client.headers["Authorization"].split(" ", 1)[1]


def open_stream(
    server: str, client: httpx.Client, *, query: bool = False, **headers: str
) -> Stream:
    token = token_of(client)
    url = server + "/hyphen/sdk/events"
    sent = {"Accept": "text/event-stream", **headers}
    if query:
        url += f"?session_token={token}"
    else:
        sent["Authorization"] = f"Bearer {token}"
    return Stream(url, sent).start()


@pytest.fixture
def account(server) -> Iterator[Signup]:
    yield from accounts(server)


@pytest.fixture
def streams() -> Iterator[list[Stream]]:
    opened: list[Stream] = []
    yield opened
    for s in opened:
        s.close()


def workflow(account: Signup, name: str) -> str:
    r = account.engine.post("/workflows", json={"name": name, "definition": APPROVAL})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def execute(account: Signup, workflow_id: str) -> str:
    r = account.engine.post(f"/workflows/{workflow_id}/execute", json={"input": {"amount": 5}})
    assert r.status_code == 202, r.text
    return r.json()["run_id"]


def table(account: Signup, name: str) -> None:
    r = account.engine.post("/custom-tables", json={"name": name, "fields": ORDERS})
    assert r.status_code == 201, r.text


def insert(account: Signup, name: str, row: dict) -> dict:
    r = account.engine.post(f"/custom-tables/{name}/rows", json={"data": row})
    assert r.status_code == 201, r.text
    return r.json()


def test_run_task_and_sign_in_events_carry_their_payloads(
    server,
    account,
    consumer,  # noqa: F811
    streams,
):
    key = make_key(account, allowed_workflows=["refunds"])
    client = session(server, key["key"])
    s = open_stream(server, client, query=True)
    streams.append(s)
    assert s.status == 200 and s.comments[0] == "stream open"
    run_id = execute(account, workflow(account, "refunds"))
    created = s.wait_for("task:created")
    assert created.data == {"runId": run_id, "workflowName": "refunds", "urgency": "high"}
    running = s.wait_for("run:status", lambda d: d["status"] == "running")
    assert running.data == {"runId": run_id, "status": "running", "documentId": None}
    s.wait_for("run:status", lambda d: d["status"] == "paused")
    # the session signs in: `authenticated` on its own stream
    email = f"amy-{secrets.token_hex(4)}@example.com"  # the dev outbox is shared: a fresh one
    sign_in(account, client, key["id"], email)
    session_id = client.get("/sdk/config").json()["session"]["session_id"]
    signed = s.wait_for("authenticated")
    assert signed.data == {"email": email, "sessionId": session_id}
    r = client.post(f"/sdk/tasks/{run_id}:0/decide", json={"approved": False, "comment": "no"})
    assert r.status_code == 200, r.text
    decided = s.wait_for("task:decided")
    assert decided.data == {"runId": run_id, "stepId": "0", "approved": False, "comment": "no"}
    s.wait_for("run:status", lambda d: d["status"] == "failed")
    # every event has an id, increasing in the order they were sent
    ids = [int(e.id) for e in s.events if e.id is not None]
    assert len(ids) == len(s.events) and ids == sorted(ids)


def test_table_updates_and_workflows_are_filtered_by_the_key_and_the_org(
    server,
    account,
    consumer,  # noqa: F811
    streams,
):
    table(account, "orders")
    table(account, "secret")
    key = make_key(account, allowed_workflows=["refunds"], allowed_tables=["orders"])
    client = session(server, key["key"])
    other_session = session(server, key["key"])
    s = open_stream(server, client)
    streams.append(s)
    # another org, the same table name and a workflow its own key allows
    stranger = signup(server)
    table(stranger, "orders")
    stranger_key = make_key(stranger, allowed_workflows=["*"], allowed_tables=["*"])
    theirs = open_stream(server, session(server, stranger_key["key"]))
    streams.append(theirs)

    insert(stranger, "orders", {"item": "theirs", "qty": 9})
    stranger_run = execute(stranger, workflow(stranger, "refunds"))
    insert(account, "secret", {"item": "hidden", "qty": 1})
    execute(account, workflow(account, "payroll"))
    row = insert(account, "orders", {"item": "pen", "qty": 2})
    inserted = s.wait_for("table:updated")
    assert inserted.data == {
        "table": "orders",
        "rowId": row["id"],
        "changes": {"item": "pen", "qty": 2},
    }
    r = account.engine.patch(f"/custom-tables/orders/rows/{row['id']}", json={"data": {"qty": 3}})
    assert r.status_code == 200, r.text
    patched = s.wait_for("table:updated", lambda d: d["changes"] == {"qty": 3})
    assert patched.data == {"table": "orders", "rowId": row["id"], "changes": {"qty": 3}}
    # a signed-in session's `authenticated` is its own
    sign_in(account, other_session, key["id"], f"bob-{secrets.token_hex(4)}@example.com")
    refunds_run = execute(account, workflow(account, "refunds"))
    s.wait_for("task:created", lambda d: d["runId"] == refunds_run)
    theirs.wait_for("task:created", lambda d: d["runId"] == stranger_run)
    theirs.wait_for("table:updated", lambda d: d["changes"]["item"] == "theirs")
    seen = [e.data for e in s.events]
    assert all(d["table"] == "orders" for d in seen if isinstance(d, dict) and "table" in d)
    assert {d.get("workflowName") for d in seen if isinstance(d, dict)} <= {"refunds", None}
    run_ids = {d.get("runId") for d in seen if isinstance(d, dict)}
    assert run_ids - {None} == {refunds_run}
    assert "authenticated" not in s.types()
    assert not any(
        isinstance(d, dict) and d.get("changes", {}).get("item") == "theirs" for d in seen
    )
    # the stranger saw nothing of this org
    assert all(
        isinstance(e.data, dict) and e.data.get("runId") in (None, stranger_run)
        for e in theirs.events
    )
    assert [e.data["changes"]["item"] for e in theirs.events if e.type == "table:updated"] == [
        "theirs"
    ]


def test_resume_after_last_event_id_also_on_another_server(
    server,
    settings,
    account,
    consumer,  # noqa: F811
    streams,
):
    table(account, "orders")
    key = make_key(account, allowed_tables=["orders"])
    client = session(server, key["key"], origin=None)
    first = open_stream(server, client)
    streams.append(first)
    insert(account, "orders", {"item": "a", "qty": 1})
    seen = first.wait_for("table:updated")
    first.close()
    # while no stream is open
    for item in ("b", "c"):
        insert(account, "orders", {"item": item, "qty": 1})
    resumed = open_stream(server, client, **{"Last-Event-ID": seen.id})
    streams.append(resumed)
    resumed.wait_for("table:updated", lambda d: d["changes"]["item"] == "c")
    items = [e.data["changes"]["item"] for e in resumed.events]
    assert items == ["b", "c"]
    c_id = resumed.events[-1].id
    # live events continue after the backlog, without repeats
    insert(account, "orders", {"item": "d", "qty": 1})
    resumed.wait_for("table:updated", lambda d: d["changes"]["item"] == "d")
    assert [e.data["changes"]["item"] for e in resumed.events] == ["b", "c", "d"]
    # X-Last-Event-ID too
    again = open_stream(server, client, **{"X-Last-Event-ID": c_id})
    streams.append(again)
    again.wait_for("table:updated", lambda d: d["changes"]["item"] == "d")
    assert [e.data["changes"]["item"] for e in again.events] == ["d"]
    # another server process on the same store resumes from the same id
    with OtherServer(settings) as other:
        elsewhere = open_stream(other, client, **{"Last-Event-ID": seen.id})
        streams.append(elsewhere)
        elsewhere.wait_for("table:updated", lambda d: d["changes"]["item"] == "d")
        assert [e.data["changes"]["item"] for e in elsewhere.events] == ["b", "c", "d"]
        if settings.redis_url:  # live events reach it through Redis
            insert(account, "orders", {"item": "e", "qty": 1})
            elsewhere.wait_for("table:updated", lambda d: d["changes"]["item"] == "e")
        elsewhere.close()


class OtherServer:
    """`agentyard serve` in a subprocess on the test server's store (no job consumer)."""

    def __init__(self, settings) -> None:
        self.settings = settings

    def __enter__(self) -> str:
        port = free_port()
        env = {
            **os.environ,
            "AGENTYARD_DATA_DIR": str(self.settings.data_dir),
            "AGENTYARD_JOBS_WORKERS": "0",
            "AGENTYARD_HYPHEN_REQUESTS_PER_MINUTE": "100000",
            "AGENTYARD_SSE_HEARTBEAT_SECONDS": "0.5",
        }
        for name, value in (
            ("DATABASE_URL", self.settings.database_url),
            ("REDIS_URL", self.settings.redis_url),
        ):
            env.pop(name, None)
            if value:
                env[name] = value
        self.log = open(Path(self.settings.data_dir) / f"other-{port}.log", "wb")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "agentyard"), "serve", "--port", str(port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "the second server exited"
            try:
                if httpx.get(base + "/hyphen/health", timeout=2).status_code < 500:
                    return base
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("the second server did not start")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


def test_a_resume_older_than_the_window_says_events_were_missed(
    server, account, streams, monkeypatch
):
    table(account, "orders")
    key = make_key(account, allowed_tables=["orders"])
    client = session(server, key["key"])
    first = open_stream(server, client)
    streams.append(first)
    insert(account, "orders", {"item": "old", "qty": 1})
    old = first.wait_for("table:updated")
    first.close()
    monkeypatch.setattr(sdk_stream_log, "REPLAY_EVENTS", 2)
    for item in ("x", "y", "z"):
        insert(account, "orders", {"item": item, "qty": 1})
    with connection(), write():
        sdk_stream_log.prune(account.org_id)
    s = open_stream(server, client, **{"Last-Event-ID": old.id})
    streams.append(s)
    missed = s.wait_for("error")
    assert missed.data["code"] == "events_missed" and missed.data["message"]
    s.wait_for("table:updated", lambda d: d["changes"]["item"] == "z")
    assert [e.data["changes"]["item"] for e in s.events if e.type == "table:updated"] == ["y", "z"]


def test_heartbeats_keep_an_idle_stream_alive(server, account, streams):
    key = make_key(account)
    s = open_stream(server, session(server, key["key"]))
    streams.append(s)
    deadline = time.monotonic() + 20
    while "heartbeat" not in s.comments and time.monotonic() < deadline:
        time.sleep(0.05)
    assert s.comments[0] == "stream open" and "heartbeat" in s.comments
    assert not s.ended.is_set()


def test_the_stream_ends_with_session_expired(server, account, streams):
    key = make_key(account)
    client = session(server, key["key"])
    session_id = client.get("/sdk/config").json()["session"]["session_id"]
    with connection(), write():
        SdkSession.update(expires_at=clock.now() + dt.timedelta(seconds=1.5)).where(
            SdkSession.id == session_id
        ).execute()
    s = open_stream(server, client)
    streams.append(s)
    expired = s.wait_for("session:expired")
    assert expired.data is None
    assert s.ended.wait(10) and s.types()[-1] == "session:expired"
    body = error(client.get("/sdk/events", headers={"Accept": "text/event-stream"}), 401)
    assert body["details"]["code"] == "session_expired"


def test_a_revoked_key_ends_the_stream_with_an_error(server, account, streams, monkeypatch):
    monkeypatch.setattr(sdk_stream, "RECHECK_SECONDS", 0.2)
    key = make_key(account)
    s = open_stream(server, session(server, key["key"]))
    streams.append(s)
    r = account.manage.delete(f"/gateway/orgs/{account.org_id}/sdk-keys/{key['id']}")
    assert r.status_code == 200, r.text
    revoked = s.wait_for("error")
    assert revoked.data["code"] == "session_revoked" and revoked.data["message"]
    assert s.ended.wait(10)


def test_accept_origin_and_credentials_are_checked(server, account):
    key = make_key(account)
    client = session(server, key["key"])
    body = error(client.get("/sdk/events", headers={"Accept": "application/json"}), 406)
    assert "text/event-stream" in body["message"]
    # no session, a publishable key, a foreign origin
    error(httpx.get(server + "/hyphen/sdk/events"), 401)
    pk = {"Authorization": f"Bearer {key['key']}"}
    error(httpx.get(server + "/hyphen/sdk/events", headers=pk), 401)
    foreign = {"Origin": "https://evil.example.com", "Accept": "text/event-stream"}
    error(client.get("/sdk/events", headers=foreign), 403)
    error(client.get("/sdk/events", headers={"Last-Event-ID": "abc"}), 400)
    # a browser on an allowed origin may read the stream (CORS)
    with client.stream("GET", "/sdk/events", headers={"Origin": ORIGIN}) as r:
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == ORIGIN
        assert r.headers["content-type"].startswith("text/event-stream")


def test_many_rows_changed_at_once_are_one_event(server, account, streams, monkeypatch):
    monkeypatch.setattr(sdk_events, "MAX_ROW_EVENTS", 2)
    table(account, "orders")
    key = make_key(account, allowed_tables=["orders"])
    s = open_stream(server, session(server, key["key"]))
    streams.append(s)
    rows = [{"item": "bulk", "qty": i} for i in range(3)]
    r = account.engine.post("/custom-tables/orders/bulk-insert", json={"rows": rows})
    assert r.status_code == 201, r.text
    many = s.wait_for("table:updated")
    assert many.data == {"table": "orders", "rowId": None, "changes": {"item": "bulk", "qty": 0}}
