"""SDK documents over HTTP: signed-in uploads streamed like /documents, an upload starting a run
of an allowed workflow (with `run:status` naming the document), the key's own documents only,
and nothing stored for a refused upload."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest

from agentyard.core import blobs, clock
from agentyard.core.store import connection
from agentyard.hyphen import documents
from agentyard.hyphen.sdk_resources_models import SdkDocument
from tests.hyphen.conftest import error
from tests.hyphen.gateway_kit import signup
from tests.hyphen.http_kit import consumer, poll, queue_name  # noqa: F401 - fixtures
from tests.hyphen.test_sdk_auth import accounts, make_key, session, sign_in
from tests.hyphen.test_sdk_tasks import APPROVAL, Collector

# unique per run: the dev outbox is shared by every test of the session
CAL = f"cal-{uuid.uuid4().hex[:8]}@example.com"
BOB = f"bob-{uuid.uuid4().hex[:8]}@example.com"
AMY = f"amy-{uuid.uuid4().hex[:8]}@example.com"


@pytest.fixture
def account(server):
    yield from accounts(server)


def upload(client, name: str = "invoice.csv", **fields):
    files = {"file": (name, b"id,amount\n1,5\n", "text/csv")}
    return client.post("/sdk/documents", files=files, data=fields)


def test_uploads_start_runs_of_allowed_workflows(server, account, consumer):  # noqa: F811
    r = account.engine.post("/workflows", json={"name": "intake", "definition": APPROVAL})
    assert r.status_code == 201, r.text
    intake = r.json()["id"]
    r = account.engine.post("/workflows", json={"name": "payroll", "definition": APPROVAL})
    payroll = r.json()["id"]
    key = make_key(account, allowed_workflows=["intake"])
    client = session(server, key["key"])
    # anonymous sessions may list but not upload
    error(upload(client), 403)
    sign_in(account, client, key["id"], AMY)
    # refused before anything is stored
    error(upload(client, workflow_id=payroll), 403)
    error(upload(client, workflow_id="wfl-nothing"), 403)
    error(upload(client, metadata="[1]"), 400)
    error(client.post("/sdk/documents", data={"tags": "x"}, files={"other": ("a", b"1")}), 400)
    assert account.engine.get("/documents").json()["total"] == 0
    collector = Collector(account.org_id)
    try:
        r = upload(client, tags="q1, invoices", workflow_id="intake")
        assert r.status_code == 201, r.text
        doc = r.json()
        assert doc["id"].startswith("doc_") and doc["tags"] == ["q1", "invoices"]
        assert (doc["uploaded_by"], doc["workflow_id"]) == (AMY, intake)
        assert doc["run_id"].startswith("run-") and doc["content_type"] == "text/csv"
        started = []
        for _ in range(200):
            started = [
                m for m in collector.messages if (m["data"] or {}).get("documentId") == doc["id"]
            ]
            if started:
                break
            collector.stop.wait(0.05)
        assert started and started[0]["data"] == {
            "runId": doc["run_id"],
            "status": "running",
            "documentId": doc["id"],
        }
        assert started[0]["workflow_name"] == "intake"
    finally:
        collector.close()
    run = poll(account.engine, doc["run_id"], "paused")
    assert run["status"] == "paused"
    plain = upload(client, "notes.txt")
    assert plain.status_code == 201, plain.text
    assert plain.json()["run_id"] is None
    listed = client.get("/sdk/documents").json()
    assert [d["id"] for d in listed["documents"]] == [plain.json()["id"], doc["id"]]
    assert listed["total"] == 2 and listed["documents"][1]["run_status"] == "paused"
    only = client.get("/sdk/documents", params={"workflow_id": intake}).json()
    assert [d["id"] for d in only["documents"]] == [doc["id"]]
    # the engine sees the document, uploaded in the user's name, with its bytes
    audit = account.engine.get(f"/documents/{doc['id']}/audit").json()["events"]
    assert audit[0]["actor"] == AMY
    assert account.engine.get(f"/documents/{doc['id']}/download").content == b"id,amount\n1,5\n"
    # another key of the org and another org see none of them
    other_key = session(server, make_key(account, allowed_workflows=["*"])["key"])
    assert other_key.get("/sdk/documents").json()["documents"] == []
    stranger = signup(server)
    try:
        theirs = session(server, make_key(stranger, allowed_workflows=["*"])["key"])
        assert theirs.get("/sdk/documents").json()["total"] == 0
    finally:
        stranger.manage.close()
        stranger.engine.close()
    # a deleted document leaves the list
    assert account.engine.delete(f"/documents/{plain.json()['id']}").status_code == 200
    assert [d["id"] for d in client.get("/sdk/documents").json()["documents"]] == [doc["id"]]
    # and once collected, the key's record of it goes too
    with connection():
        documents.collect(now=clock.now() + dt.timedelta(days=2))
        assert SdkDocument.get_or_none(SdkDocument.document == plain.json()["id"]) is None
        assert SdkDocument.get_or_none(SdkDocument.document == doc["id"]) is not None


def test_an_input_the_workflow_refuses_stores_nothing(server, account, consumer):  # noqa: F811
    schema = {
        "name": "strict",
        "schema": {"type": "object", "required": ["invoice"], "properties": {}},
    }
    r = account.engine.post("/schemas", json=schema)
    if r.status_code != 201:
        pytest.skip(f"input schemas: {r.text}")
    r = account.engine.post(
        "/workflows",
        json={"name": "strict", "definition": APPROVAL, "input_schema": r.json()["id"]},
    )
    assert r.status_code == 201, r.text
    key = make_key(account, allowed_workflows=["*"])
    client = session(server, key["key"])
    sign_in(account, client, key["id"], BOB)
    error(upload(client, workflow_id="strict"), 400)
    assert client.get("/sdk/documents").json()["total"] == 0
    assert account.engine.get("/documents").json()["total"] == 0


def test_uploads_are_streamed_with_the_documents_limit(server, account, consumer):  # noqa: F811
    key = make_key(account)
    client = session(server, key["key"])
    sign_in(account, client, key["id"], CAL)
    # over the app-wide 1 MiB body maximum: the /sdk/documents limit is the upload's
    big = b"x" * (2 * 1024 * 1024 + 1)
    r = client.post("/sdk/documents", files={"file": ("big.bin", big, "application/octet-stream")})
    assert r.status_code == 201, r.text
    assert r.json()["size"] == len(big)
    saved = blobs.configured()
    blobs.restore(dataclasses.replace(blobs.config(), max_file_bytes=64))
    try:
        r = client.post("/sdk/documents", files={"file": ("a.bin", b"y" * 65)})
    finally:
        blobs.restore(saved)
    error(r, 413)
    assert client.get("/sdk/documents").json()["total"] == 1
