"""Project webhooks over HTTP: outbound endpoints (a signed test event received and verified by
a local receiver), inbound webhook triggers (a signed call starts a run; a bad signature starts
nothing), receipts, secrets shown once, roles, tenancy, audit."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest
from flask import Flask, request
from standardwebhooks import Webhook

from agentyard import flows
from agentyard.core import audit
from agentyard.core.keys import Tenant
from agentyard.core.store import connection
from tests.hasp_studio.conftest import Client, Studio, new_project
from tests.local_server import LocalServer


class Receiver:
    def __init__(self) -> None:
        self.received: list[dict] = []
        self.status = 204
        app = Flask("receiver")

        @app.post("/hook")
        def hook():
            self.received.append({"headers": dict(request.headers), "body": request.get_data()})
            return "", self.status

        self.server = LocalServer(app)
        self.url = f"{self.server.url}/hook"


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.close()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def hook_workflow(client: Client, project_id: str) -> dict:
    body = {
        "name": "On hook",
        "definition": {
            "trigger": {"type": "webhook"},
            "steps": [{"id": "t", "type": "approval", "title": "Look at {{ input.order }}"}],
        },
    }
    r = client.post(f"/projects/{project_id}/workflows", json=body)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def test_outbound_crud_and_signed_test_event(owner: Client, receiver: Receiver) -> None:
    project = new_project(owner)
    app = owner.post(f"/projects/{project['id']}/apps", json={"name": "Clinic"}).json()["data"]
    r = owner.post(
        f"/projects/{project['id']}/webhooks",
        json={
            "direction": "outbound",
            "name": "CRM",
            "url": receiver.url,
            "events": ["record.updated", "record.created"],
            "app_id": app["id"],
        },
    )
    assert r.status_code == 201, r.text
    hook = r.json()["data"]
    secret = hook["secret"]
    assert secret.startswith("whsec_") and hook["events"] == ["record.created", "record.updated"]
    assert hook["inbound_url"] is None and hook["active"] is True
    # The secret is never shown again.
    got = owner.get(f"/webhooks/{hook['id']}").json()["data"]
    assert "secret" not in got and got["url"] == receiver.url
    listed = owner.get(f"/projects/{project['id']}/webhooks").json()["data"]
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]

    tested = owner.post(f"/webhooks/{hook['id']}/test")
    assert tested.status_code == 200, tested.text
    result = tested.json()["data"]
    assert result["direction"] == "outbound" and result["status"] == "succeeded"
    assert result["status_code"] == 204
    delivery = receiver.received[-1]
    headers, body = delivery["headers"], delivery["body"]
    assert headers["X-Hasp-Signature-256"] == sign(secret, body)
    assert headers["User-Agent"] == "Hasp-Webhook/1.0"
    assert headers["X-Hasp-Webhook-Id"] == result["delivery_id"]
    Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})
    payload = json.loads(body)
    assert set(payload) == {"id", "event", "app_id", "entity_key", "timestamp", "data"}
    assert payload["event"] == "webhook.test" and payload["app_id"] == app["id"]

    receiver.status = 500
    failed = owner.post(f"/webhooks/{hook['id']}/test").json()["data"]
    assert failed["status"] == "failed" and failed["status_code"] == 500

    r = owner.patch(f"/webhooks/{hook['id']}", json={"events": ["schema.updated"], "active": False})
    assert r.status_code == 200 and r.json()["data"]["events"] == ["schema.updated"]
    assert r.json()["data"]["active"] is False
    gone = owner.delete(f"/webhooks/{hook['id']}")
    assert gone.status_code == 200
    assert owner.get(f"/webhooks/{hook['id']}").status_code == 404
    assert owner.get(f"/projects/{project['id']}/webhooks").json()["data"] == []
    with connection():
        org = Tenant.get_by_id(owner.account.org_id)
        actions = [e.action for e in audit.query(org, entity_id=hook["id"])[0]]
        updated = audit.query(org, action="webhook.updated", entity_id=hook["id"])[0][0]
    assert {"webhook.created", "webhook.tested", "webhook.updated", "webhook.deleted"} <= set(
        actions
    )
    assert (
        updated.metadata["before"]["active"] is True
        and updated.metadata["after"]["active"] is False
    )
    assert secret not in json.dumps([e.metadata for e in audit.query(org, entity_id=hook["id"])[0]])


@pytest.mark.parametrize(
    "body, param",
    [
        ({"direction": "outbound", "name": "x", "events": ["record.created"]}, "url"),
        ({"direction": "outbound", "name": "x", "url": "https://example.com/h"}, "events"),
        (
            {
                "direction": "outbound",
                "name": "x",
                "url": "http://10.0.0.1/h",
                "events": ["record.created"],
            },
            "url",
        ),
        ({"direction": "inbound", "name": "x"}, "workflow_id"),
        ({"direction": "inbound", "name": "x", "workflow_id": "wf_nope"}, "workflow_id"),
        (
            {
                "direction": "outbound",
                "name": "x",
                "url": "https://example.com/h",
                "events": ["record.created"],
                "app_id": "app_nope",
            },
            "app_id",
        ),
    ],
)
def test_rules_are_422_naming_the_param(owner: Client, body, param) -> None:
    project = new_project(owner)
    r = owner.post(f"/projects/{project['id']}/webhooks", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["param"] == param
    assert owner.get(f"/projects/{project['id']}/webhooks").json()["data"] == []


def test_inbound_webhook_starts_runs_and_keeps_receipts(owner: Client, studio: Studio) -> None:
    project = new_project(owner)
    wf = hook_workflow(owner, project["id"])
    r = owner.post(
        f"/projects/{project['id']}/webhooks",
        json={"direction": "inbound", "name": "Orders", "workflow_id": wf["id"]},
    )
    assert r.status_code == 201, r.text
    hook = r.json()["data"]
    secret = hook["secret"]
    assert hook["inbound_url"].endswith(f"/api/internal/webhooks/{hook['id']}/inbound")
    public = httpx.Client(timeout=30)
    body = json.dumps({"order": "A-17"}).encode()
    # No session: the signature is the credential.
    good = public.post(
        hook["inbound_url"],
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Hasp-Signature-256": sign(secret, body),
            "Authorization": "Bearer not-kept",
        },
    )
    assert good.status_code == 202, good.text
    receipt = good.json()["data"]
    assert receipt["verified"] is True and receipt["run_id"]
    assert receipt["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert "authorization" not in receipt["headers"]
    with connection():
        run = flows.get_run(receipt["run_id"])
    assert run.engine == "hasp-studio" and run.initial["input"] == {"order": "A-17"}
    assert run.initial["trigger"] == {
        "type": "webhook",
        "webhook_id": hook["id"],
        "receipt_id": receipt["id"],
    }

    bad = public.post(
        hook["inbound_url"],
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Hasp-Signature-256": sign("whsec_other", body),
        },
    )
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "INVALID_SIGNATURE"
    unsigned = public.post(hook["inbound_url"], json={"order": "B"})
    assert unsigned.status_code == 401

    simulated = owner.post(f"/webhooks/{hook['id']}/test")
    assert simulated.status_code == 200, simulated.text
    sim = simulated.json()["data"]["receipt"]
    assert sim["simulated"] is True and sim["verified"] is True and sim["run_id"]

    receipts = owner.get(f"/webhooks/{hook['id']}/receipts").json()["data"]
    assert [(x["verified"], x["simulated"], bool(x["run_id"])) for x in receipts] == [
        (True, True, True),
        (False, False, False),
        (False, False, False),
        (True, False, True),
    ]
    assert receipts[1]["reason"] == "missing X-Hasp-Signature-256"
    assert receipts[2]["reason"] == "signature does not match the body"
    page = owner.get(f"/webhooks/{hook['id']}/receipts", params={"limit": 3}).json()
    assert page["meta"]["has_more"] is True

    # Inactive: verified but starts nothing; deleted: not found.
    owner.patch(f"/webhooks/{hook['id']}", json={"active": False})
    off = public.post(
        hook["inbound_url"],
        content=body,
        headers={"Content-Type": "application/json", "X-Hasp-Signature-256": sign(secret, body)},
    )
    assert off.status_code == 409 and off.json()["error"]["code"] == "WEBHOOK_INACTIVE"
    assert (
        owner.patch(f"/webhooks/{hook['id']}", json={"url": "https://example.com"}).status_code
        == 422
    )
    owner.delete(f"/webhooks/{hook['id']}")
    assert public.post(hook["inbound_url"], content=body).status_code in (404, 415)
    assert (
        public.post(
            hook["inbound_url"], content=body, headers={"Content-Type": "application/json"}
        ).status_code
        == 404
    )
    public.close()


def test_roles_and_tenancy(owner: Client, studio: Studio, receiver: Receiver) -> None:
    project = new_project(owner)
    pid = project["id"]
    hook = owner.post(
        f"/projects/{pid}/webhooks",
        json={
            "direction": "outbound",
            "name": "CRM",
            "url": receiver.url,
            "events": ["record.created"],
        },
    ).json()["data"]
    viewer = studio.member("viewer", owner.account.org)
    assert viewer.get(f"/webhooks/{hook['id']}").status_code == 404  # not in the project
    owner.post(
        f"/projects/{pid}/members", json={"user_id": viewer.account.user_id, "role": "viewer"}
    )
    assert viewer.get(f"/webhooks/{hook['id']}").status_code == 200
    assert viewer.get(f"/webhooks/{hook['id']}/receipts").status_code == 200
    for r in (
        viewer.patch(f"/webhooks/{hook['id']}", json={"name": "x"}),
        viewer.delete(f"/webhooks/{hook['id']}"),
        viewer.post(f"/webhooks/{hook['id']}/test"),
        viewer.post(f"/projects/{pid}/webhooks", json={"direction": "inbound", "name": "x"}),
    ):
        assert r.status_code == 403, r.text
    stranger = studio.member("owner")
    for r in (
        stranger.get(f"/webhooks/{hook['id']}"),
        stranger.patch(f"/webhooks/{hook['id']}", json={"name": "x"}),
        stranger.delete(f"/webhooks/{hook['id']}"),
        stranger.get(f"/webhooks/{hook['id']}/receipts"),
        stranger.post(f"/webhooks/{hook['id']}/test"),
        stranger.get(f"/projects/{pid}/webhooks"),
    ):
        assert r.status_code == 404 and r.json()["error"]["code"] == "RESOURCE_NOT_FOUND"
    owner.delete(f"/projects/{pid}")
    r = owner.patch(f"/webhooks/{hook['id']}", json={"name": "x"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "PROJECT_ARCHIVED"
    assert owner.get(f"/webhooks/{hook['id']}").status_code == 200


@pytest.fixture
def consumer(app):
    from agentyard.core import jobs

    jobs.start_consumer(workers=2, poll_interval=0.05, scheduler_interval=0.05)
    yield
    jobs.stop_consumer()


def test_record_changes_reach_subscribed_outbound_webhooks(
    owner: Client, receiver: Receiver, consumer
) -> None:
    import time

    from agentyard.hasp.studio import record_port

    project = new_project(owner)
    hook = owner.post(
        f"/projects/{project['id']}/webhooks",
        json={"direction": "outbound", "name": "CRM", "url": receiver.url,
              "events": ["record.updated"]},
    ).json()["data"]  # fmt: skip
    change = record_port.RecordChange(
        org_id=owner.account.org_id, project_id=project["id"], entity_id="ent_1",
        entity_name="patients", event="updated", record_id="rec_1", fields=("status",),
        before={"status": "new"}, after={"status": "seen"},
    )  # fmt: skip
    with connection():
        record_port.changed(change)
        record_port.changed(record_port.RecordChange(**{**change.__dict__, "event": "created"}))
    deadline = time.time() + 15
    while not receiver.received and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert len(receiver.received) == 1  # created is not subscribed
    body = receiver.received[0]["body"]
    assert receiver.received[0]["headers"]["X-Hasp-Signature-256"] == sign(hook["secret"], body)
    payload = json.loads(body)
    assert payload["event"] == "record.updated" and payload["entity_key"] == "rec_1"
    assert payload["data"]["record"] == {"status": "seen"}
