# ruff: noqa: F811 - the fixtures come from tests.hyphen.http_kit
"""Documents over HTTP: streamed multipart uploads, versions, downloads, metadata, soft delete
and collection, audit, storage usage counted once per content, tenancy, the `document.*`
webhook events with their filter, and the matcher's `doc:` references."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json

import pytest

from agentyard.core import blobs, netguard
from agentyard.core.store import connection
from agentyard.hyphen import documents
from tests.hyphen.conftest import error, org_id
from tests.hyphen.fake_http import FakeHTTP
from tests.hyphen.http_kit import consumer, poll, queue_name  # noqa: F401 - fixtures

CSV = b"id,amount,date\n1,100.00,2026-01-02\n2,55.10,2026-01-03\n"


def upload(http, data: bytes = CSV, name: str = "bank.csv", **fields) -> dict:
    files = {"file": (name, data, fields.pop("part_type", "text/csv"))}
    r = http.post("/documents", files=files, data=fields)
    assert r.status_code == 201, r.text
    return r.json()


def test_upload_get_download_and_list(http) -> None:
    doc = upload(http, tags="bank, q1", metadata=json.dumps({"source": "acme"}))
    assert doc["id"].startswith("doc_") and len(doc["id"]) == 36
    assert doc["name"] == "bank.csv" and doc["content_type"] == "text/csv"
    assert doc["size"] == len(CSV) and doc["sha256"] == hashlib.sha256(CSV).hexdigest()
    assert doc["tags"] == ["bank", "q1"] and doc["metadata"] == {"source": "acme"}
    assert doc["version"] == 1
    got = http.get(f"/documents/{doc['id']}").json()
    assert got["versions"][0]["version"] == 1 and got["id"] == doc["id"]
    r = http.get(f"/documents/{doc['id']}/download")
    assert r.status_code == 200 and r.content == CSV
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="bank.csv"')
    other = upload(http, b'[{"a": 1}]', "x.json", part_type="application/json", tags="other")
    listed = http.get("/documents").json()
    assert listed["total"] == 2 and [d["id"] for d in listed["documents"]] == [
        other["id"],
        doc["id"],
    ]
    assert [d["id"] for d in http.get("/documents", params={"tag": "q1"}).json()["documents"]] == [
        doc["id"]
    ]
    by_type = http.get("/documents", params={"content_type": "application/json"}).json()
    assert by_type["total"] == 1 and by_type["documents"][0]["id"] == other["id"]
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert http.get("/documents", params={"created_after": later}).json()["total"] == 0
    assert http.get("/documents", params={"created_before": later}).json()["total"] == 2
    page = http.get("/documents", params={"limit": 1, "offset": 1}).json()
    assert page["total"] == 2 and [d["id"] for d in page["documents"]] == [doc["id"]]


def test_bad_uploads_are_400_and_store_nothing(http) -> None:
    error(http.post("/documents", data={"tags": "x"}, files={"other": ("a", b"1")}), 400)
    error(http.post("/documents", files={"file": ("a.csv", b"1")}, data={"metadata": "[1]"}), 400)
    error(
        http.post("/documents", files={"file": ("a.csv", b"1")}, data={"content_type": "nope"}),
        400,
    )
    error(http.post("/documents", json={"file": "x"}), 415)
    assert http.get("/documents").json()["total"] == 0


def test_versions_patch_delete_audit(http, org) -> None:
    doc = upload(http)
    v2 = b"id,amount\n9,1\n"
    r = http.post(f"/documents/{doc['id']}/versions", files={"file": ("bank-v2.csv", v2)})
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2 and r.json()["size"] == len(v2)
    assert http.get(f"/documents/{doc['id']}/download").content == v2
    old = http.get(f"/documents/{doc['id']}/download", params={"version": 1})
    assert old.content == CSV
    error(http.get(f"/documents/{doc['id']}/download", params={"version": 3}), 404)
    r = http.patch(f"/documents/{doc['id']}", json={"name": "renamed.csv", "tags": ["t"]})
    assert r.status_code == 200 and r.json()["name"] == "renamed.csv" and r.json()["tags"] == ["t"]
    error(http.patch(f"/documents/{doc['id']}", json={"size": 3}), 400)
    assert http.delete(f"/documents/{doc['id']}").json() == {"id": doc["id"], "deleted": True}
    error(http.get(f"/documents/{doc['id']}"), 404)
    error(http.delete(f"/documents/{doc['id']}"), 404)
    assert http.get("/documents").json()["total"] == 0
    with connection():
        actions = [e["action"] for e in documents.audit_rows(doc["id"])]
    assert actions == [
        "uploaded",
        "version_created",
        "downloaded",
        "downloaded",
        "updated",
        "deleted",
    ]
    # collected once the retention has passed (not before)
    with connection():
        assert documents.collect() == 0
        assert documents.collect(dt.datetime.now() + documents.RETENTION * 2) >= 1
        assert documents.audit_rows(doc["id"]) == []


def test_collected_documents_free_their_blobs_unless_something_else_uses_them(http, other) -> None:
    import secrets

    shared, own, bundled = (secrets.token_bytes(64) for _ in range(3))
    mine, gone = upload(http, shared, "a.bin"), upload(http, own, "b.bin")
    theirs = upload(other, shared, "c.bin")  # another org, the same bytes: one blob
    with_bundle = upload(http, bundled, "d.bin")
    for doc in (mine, gone, with_bundle):
        assert http.delete(f"/documents/{doc['id']}").status_code == 200
    store = blobs.store()
    claimed = with_bundle["sha256"]  # a row of another product uses it
    blobs.register_references("test-product", lambda digest: digest == claimed)
    try:
        with connection():
            later = dt.datetime.now() + documents.RETENTION * 2
            assert documents.collect(later, blob_grace_seconds=0) >= 3
    finally:
        blobs.register_references("test-product", lambda digest: False)
    assert not store.exists(gone["sha256"])  # nothing else used it
    assert store.exists(mine["sha256"])  # the other org's document still does
    assert store.exists(with_bundle["sha256"])  # another product's row still does
    assert other.get(f"/documents/{theirs['id']}/download").content == shared


def test_audit_over_http(http) -> None:
    doc = upload(http)
    http.patch(f"/documents/{doc['id']}", json={"metadata": {"k": 1}})
    events = http.get(f"/documents/{doc['id']}/audit").json()["events"]
    assert [e["action"] for e in events] == ["uploaded", "updated"]
    assert events[1]["details"] == {"fields": ["metadata"]} and events[0]["actor"]


def test_storage_usage_counts_identical_bytes_once(http) -> None:
    assert http.get("/documents/storage-usage").json()["total_bytes"] == 0
    a = upload(http)
    upload(http, name="copy.csv")
    usage = http.get("/documents/storage-usage").json()
    assert usage["total_bytes"] == len(CSV) and usage["logical_bytes"] == 2 * len(CSV)
    assert usage["documents"] == 2 and usage["distinct_blobs"] == 1
    http.post(f"/documents/{a['id']}/versions", files={"file": ("n.csv", b"12345")})
    usage = http.get("/documents/storage-usage").json()
    assert usage["total_bytes"] == len(CSV) + 5 and usage["versions"] == 3


def test_another_org_sees_nothing(http, other) -> None:
    doc = upload(http)
    for r in (
        other.get(f"/documents/{doc['id']}"),
        other.get(f"/documents/{doc['id']}/download"),
        other.get(f"/documents/{doc['id']}/audit"),
        other.patch(f"/documents/{doc['id']}", json={"name": "x"}),
        other.delete(f"/documents/{doc['id']}"),
        other.post(f"/documents/{doc['id']}/versions", files={"file": ("a", b"1")}),
    ):
        error(r, 404)
    assert other.get("/documents").json()["total"] == 0
    assert other.get("/documents/storage-usage").json()["total_bytes"] == 0
    assert http.get(f"/documents/{doc['id']}/download").content == CSV


def test_events_honour_the_registration_filter(http) -> None:
    def hook(event: str, **filter) -> str:
        body = {"event": event, "url": "https://example.com/hook", "filter": filter}
        r = http.post("/webhooks", json=body)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    tagged = hook("document.uploaded", tags=["invoices"])
    csv_only = hook("document.uploaded", content_type="text/csv")
    json_only = hook("document.uploaded", content_type="application/json")
    versions = hook("document.version_created")
    deleted = hook("document.deleted")
    doc = upload(http, tags="invoices")
    http.post(f"/documents/{doc['id']}/versions", files={"file": ("b.csv", b"x")})
    http.delete(f"/documents/{doc['id']}")

    def events(hook_id: str) -> list[str]:
        return [d["event"] for d in http.get(f"/webhooks/{hook_id}").json()["deliveries"]]

    assert events(tagged) == ["document.uploaded"]
    assert events(csv_only) == ["document.uploaded"]
    assert events(json_only) == []
    assert events(versions) == ["document.version_created"]
    assert events(deleted) == ["document.deleted"]


def test_matcher_reads_csv_and_json_documents(http, org, consumer) -> None:
    csv_doc = upload(http)
    rows = [{"id": "1", "amount": 100}, {"id": "3", "amount": 7}]
    json_doc = upload(
        http, json.dumps({"rows": rows}).encode(), "ledger.json", part_type="application/json"
    )
    with connection():
        assert documents.records(org_id(org), f"doc:{csv_doc['id']}")[0] == {
            "id": "1",
            "amount": "100.00",
            "date": "2026-01-02",
        }
        assert documents.records(org_id(org), f"doc:{json_doc['id']}") == rows
        with pytest.raises(documents.RecordsError):
            documents.records(org_id(org), "doc:doc_" + "0" * 32)
    definition = {
        "actions": [
            {
                "type": "matcher",
                "properties": {
                    "left": f"doc:{csv_doc['id']}",
                    "right": f"doc:{json_doc['id']}",
                    "matchOn": ["id"],
                },
            }
        ]
    }
    r = http.post("/workflows", json={"name": "reconcile-docs", "definition": definition})
    assert r.status_code == 201, r.text
    run = http.post(f"/workflows/{r.json()['id']}/execute", json={"input": {}})
    assert run.status_code == 202, run.text
    body = poll(http, run.json()["run_id"], "completed")
    assert [m["left"]["id"] for m in body["context"]["matched"]] == ["1"]
    assert [x["id"] for x in body["context"]["unmatchedLeft"]] == ["2"]
    assert [x["id"] for x in body["context"]["unmatchedRight"]] == ["3"]


@pytest.fixture
def fake():
    with FakeHTTP() as server:
        yield server


@pytest.fixture
def private_fetch_ok():
    saved = blobs.configured()
    blobs.restore(
        dataclasses.replace(
            blobs.config(), fetch_allow_private=netguard.AllowList.parse("127.0.0.1/32")
        )
    )
    yield
    blobs.restore(saved)


def test_from_url_refuses_a_private_address_by_default(http, fake) -> None:
    body = error(http.post("/documents/from-url", json={"url": fake.url + "/data.json"}), 400)
    assert "refused" in body["message"]
    assert fake.requests == [] and http.get("/documents").json()["total"] == 0
    error(http.post("/documents/from-url", json={"url": "file:///etc/passwd"}), 400)


def test_from_url_fetches_through_the_guard_when_allowed(http, fake, private_fetch_ok) -> None:
    r = http.post(
        "/documents/from-url", json={"url": fake.url + "/exports/data.json", "tags": ["x"]}
    )
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["name"] == "data.json" and doc["content_type"] == "application/json"
    assert doc["tags"] == ["x"] and fake.requests[0]["path"] == "/exports/data.json"
    got = http.get(f"/documents/{doc['id']}/download").json()
    assert got["ok"] is True and got["path"] == "/exports/data.json"
    fake.fail_first, fake.fail_status = 5, 404
    error(http.post("/documents/from-url", json={"url": fake.url + "/missing"}), 400)


def test_bulk_upload_reports_each_file_and_stores_failures_nowhere(http) -> None:
    saved = blobs.configured()
    blobs.restore(dataclasses.replace(blobs.config(), max_file_bytes=64))
    try:
        files = [
            ("files", ("a.csv", CSV, "text/csv")),
            ("files", ("big.bin", b"x" * 65, "application/octet-stream")),
            ("files", ("b.json", b"[]", "application/json")),
        ]
        r = http.post("/documents/bulk-upload", files=files, data={"tags": "batch"})
    finally:
        blobs.restore(saved)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"] == 2 and body["failed"] == 1
    assert [x["status"] for x in body["results"]] == ["created", "failed", "created"]
    assert "larger than 64 bytes" in body["results"][1]["error"]
    assert body["results"][2]["document"]["content_type"] == "application/json"
    listed = http.get("/documents", params={"tag": "batch"}).json()
    assert sorted(d["name"] for d in listed["documents"]) == ["a.csv", "b.json"]
    assert http.get("/documents/storage-usage").json()["total_bytes"] == len(CSV) + 2
    error(http.post("/documents/bulk-upload", data={"tags": "x"}, files={"x": ("a", b"1")}), 400)
