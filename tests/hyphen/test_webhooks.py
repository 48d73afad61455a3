"""Webhook registrations and deliveries: the `{event, timestamp, payload}` envelope signed with
`X-Hyphen-Signature` and the Standard Webhooks headers, `filter`, `auto_payload`, retries on
408/429/5xx only, every attempt recorded, and the URL policy."""

from __future__ import annotations

import json

import pytest

from agentyard.core import webhooks as core_webhooks
from agentyard.core.store import connection
from agentyard.hyphen import webhooks
from tests.harnesslayer.people_helpers import running_consumer, serving_receiver
from tests.hyphen.conftest import error, org_id

SECRET = "hyphen-test-secret"


@pytest.fixture
def receiver():
    with serving_receiver() as state, running_consumer():
        yield state


def register(http, url: str, **body) -> dict:
    r = http.post("/webhooks", json={"event": "workflow_run_completed", "url": url, **body})
    assert r.status_code == 201, r.text
    return r.json()


def emit(org, event: str, payload: dict) -> None:
    with connection():
        webhooks.emit(org_id(org), event, payload)


def wait_delivery(http, hook_id: str, status: str, attempts: int) -> dict:
    import time

    deadline = time.monotonic() + 30
    while True:
        found = http.get(f"/webhooks/{hook_id}").json()["deliveries"]
        if found and found[0]["status"] == status and len(found[0]["attempts"]) == attempts:
            return found[0]
        assert time.monotonic() < deadline, found
        time.sleep(0.05)


def test_registration_crud_shows_the_secret_once(http) -> None:
    made = register(http, "https://example.com/hook", filter={"workflow_id": "wfl-1"})
    assert made["secret"].startswith("whsec_") and made["filter"] == {"workflow_id": "wfl-1"}
    got = http.get(f"/webhooks/{made['id']}")
    assert "secret" not in got.json() and made["secret"] not in got.text
    assert got.json()["deliveries"] == []
    listed = http.get("/webhooks").json()
    assert listed["total"] == 1 and listed["webhooks"][0]["id"] == made["id"]
    r = http.patch(f"/webhooks/{made['id']}", json={"filter": {}, "active": False})
    assert r.status_code == 200 and r.json()["filter"] == {} and r.json()["active"] is False
    assert http.delete(f"/webhooks/{made['id']}").json() == {"id": made["id"], "deleted": True}
    error(http.get(f"/webhooks/{made['id']}"), 404)


def test_urls_deliveries_could_never_reach_are_refused(http) -> None:
    for url in ("http://10.0.0.8/hook", "https://169.254.169.254/latest", "ftp://example.com/x"):
        error(http.post("/webhooks", json={"event": "*", "url": url}), 400)
    assert http.get("/webhooks").json()["total"] == 0


def test_delivery_is_signed_both_ways(http, org, receiver) -> None:
    url = receiver.url()
    hook = register(http, url, secret=SECRET)
    register(http, receiver.url(), event="pbot_approval_requested")  # another event: not sent
    emit(org, "workflow_run_completed", {"run_id": "run-1", "status": "completed", "n": 2})
    (hit,) = receiver.wait(url)
    body = json.loads(hit.body)
    assert body["event"] == "workflow_run_completed" and body["timestamp"].endswith("Z")
    assert body["payload"] == {"run_id": "run-1", "status": "completed", "n": 2}
    headers = {k.lower(): v for k, v in hit.headers.items()}
    assert headers["x-hyphen-signature"] == webhooks.signature(SECRET, hit.body)
    assert webhooks.verify(SECRET, hit.body, headers["x-hyphen-signature"])
    assert core_webhooks.verify_standard_signature(SECRET, hit.body, headers)
    assert headers["user-agent"] == "Hyphen-Webhook/1.0"
    done = wait_delivery(http, hook["id"], "succeeded", 1)
    assert done["attempts"][0]["status_code"] == 200


def test_filter_wildcard_and_auto_payload(http, org, receiver) -> None:
    tagged, bare, everything = receiver.url(), receiver.url(), receiver.url()
    register(http, tagged, event="document.uploaded", filter={"tags": ["invoices"]})
    register(http, bare, event="document.uploaded", auto_payload=False)
    register(http, everything, event="*")
    emit(
        org,
        "document.uploaded",
        {
            "id": "doc_1",
            "tags": ["misc"],
            "status": "ready",
            "content_type": "application/pdf",
            "size": 10,
        },
    )
    emit(org, "document.uploaded", {"id": "doc_2", "tags": ["invoices"], "status": "ready"})
    assert [json.loads(h.body)["payload"]["id"] for h in receiver.wait(tagged)] == ["doc_2"]
    slim = [json.loads(h.body)["payload"] for h in receiver.wait(bare, 2)]
    assert {"id": "doc_1", "status": "ready"} in slim and all("tags" not in p for p in slim)
    assert len(receiver.wait(everything, 2)) == 2


def test_retries_on_5xx_and_429_but_not_on_404(http, org, receiver) -> None:
    flaky, gone = receiver.url(503, 429), receiver.url(404)
    flaky_hook = register(http, flaky)
    gone_hook = register(http, gone, event="workflow_run_failed")
    emit(org, "workflow_run_completed", {"run_id": "run-2"})
    emit(org, "workflow_run_failed", {"run_id": "run-3"})
    done = wait_delivery(http, flaky_hook["id"], "succeeded", 3)
    assert sorted(a["status_code"] for a in done["attempts"]) == [200, 429, 503]
    failed = wait_delivery(http, gone_hook["id"], "failed", 1)
    assert failed["attempts"][0]["status_code"] == 404 and failed["last_error"] == "HTTP 404"
    assert len(receiver.hits_for(gone)) == 1


def test_emit_never_raises(http, org, monkeypatch) -> None:
    register(http, "https://example.com/hook", event="workflow_run_started")
    calls = []

    def boom(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("queue down")

    monkeypatch.setattr(core_webhooks, "enqueue", boom)
    with connection():
        webhooks.emit(org_id(org), "workflow_run_started", {"run_id": "r"})
        webhooks.emit("no-such-org", "workflow_run_started", {"run_id": "r"})
    assert len(calls) == 1
