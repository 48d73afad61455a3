"""/v1/webhooks: endpoints, signed deliveries of HASP AI events, private targets refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from flask import Flask, request
from standardwebhooks import Webhook

from agentyard.core import jobs
from tests.hasp_ai.conftest import make_org
from tests.local_server import LocalServer


class Receiver:
    """A local endpoint that records every delivery with its headers and raw body."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        app = Flask("receiver")

        @app.post("/hook")
        def hook():
            self.received.append({"headers": dict(request.headers), "body": request.get_data()})
            return "", 204

        self.server = LocalServer(app)
        self.url = f"{self.server.url}/hook"

    def events(self, timeout: float = 10.0, want: int = 1) -> list[dict]:
        deadline = time.time() + timeout
        while len(self.received) < want and time.time() < deadline:
            time.sleep(0.05)
        return self.received


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.close()


@pytest.fixture
def consumer(app):
    jobs.start_consumer(workers=2, poll_interval=0.05, scheduler_interval=0.05)
    yield
    jobs.stop_consumer()


EVENTS = [
    "ai.inference.completed",
    "ai.phi.detected",
    "api_key.created",
    "budget.threshold_reached",
]


def register(org, url: str, events=EVENTS):
    body = {"app_id": "app_clinic", "url": url, "events": events, "description": "test hook"}
    return org.http.post("/v1/webhooks", headers=org.headers, json=body)


def test_events_are_delivered_signed_twice(org, receiver, consumer):
    created = register(org, receiver.url)
    assert created.status_code == 201, created.text
    endpoint = created.json()["data"]
    secret = endpoint["secret"]
    assert secret.startswith("whsec_") and endpoint["events"] == EVENTS
    assert all(
        "secret" not in e for e in org.http.get("/v1/webhooks", headers=org.headers).json()["data"]
    )

    org.http.post("/v1/api_keys", headers=org.headers, json={"name": "x", "scopes": ["ai:chat"]})
    org.message("Patient Margaret Okafor, MRN 00482913, needs a refill")
    got = receiver.events(want=3)
    kinds = sorted(json.loads(d["body"])["event"] for d in got)
    assert kinds == ["ai.inference.completed", "ai.phi.detected", "api_key.created"]
    for delivery in got:
        headers, body = delivery["headers"], delivery["body"]
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Hasp-Signature-256"] == f"sha256={expected}"
        assert headers["User-Agent"] == "Hasp-Webhook/1.0"
        assert headers["X-Hasp-Webhook-Id"] == headers["Webhook-Id"]
        Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})
        payload = json.loads(body)
        assert set(payload) == {"id", "event", "app_id", "entity_key", "timestamp", "data"}
        assert payload["app_id"] == "app_clinic"
        assert "Okafor" not in body.decode() and "00482913" not in body.decode()


def test_private_targets_are_refused_unless_allowed(org):
    for url in ("http://10.1.2.3/h", "http://169.254.169.254/latest", "ftp://example.com/h"):
        r = register(org, url)
        assert r.status_code == 422, url
        assert r.json()["error"]["code"] == "VALIDATION_FAILED"


def test_delete_stops_deliveries_and_is_org_scoped(org, other_org, receiver, consumer):
    endpoint = register(org, receiver.url, ["api_key.created"]).json()["data"]
    assert (
        other_org.http.delete(
            f"/v1/webhooks/{endpoint['id']}", headers=other_org.headers
        ).status_code
        == 404
    )
    r = org.http.delete(f"/v1/webhooks/{endpoint['id']}", headers=org.headers)
    assert r.status_code == 200 and r.json()["data"]["deleted_at"]
    org.http.post("/v1/api_keys", headers=org.headers, json={"name": "x", "scopes": ["ai:chat"]})
    time.sleep(0.5)
    assert receiver.received == []
    assert org.http.delete(f"/v1/webhooks/{endpoint['id']}", headers=org.headers).status_code == 404
    audit = org.http.get(
        "/v1/audit", headers=org.headers, params={"entity_type": "webhook_endpoint"}
    )
    assert [e["action"] for e in audit.json()["data"]] == [
        "webhook_endpoint.deleted",
        "webhook_endpoint.created",
    ]


def test_budget_thresholds_raise_events(server, receiver, consumer):
    org = make_org(server)
    register(org, receiver.url, ["budget.threshold_reached"])
    org.http.put("/v1/usage/budget", headers=org.headers, json={"spend_cap": 300})
    while org.message("a few words to spend credits", max_tokens=40).status_code == 200:
        pass
    got = receiver.events(want=2)
    reached = sorted(json.loads(d["body"])["data"]["threshold_percent"] for d in got)
    assert reached[:2] == [50, 80]


HASP_DOCUMENTED = [
    "record.created",
    "record.updated",
    "record.deleted",
    "record.bulk_created",
    "schema.updated",
]


def test_hasps_documented_events_may_be_registered(org):
    """HASP documents only Studio's record/schema events: they register alongside ours."""
    created = register(org, "https://hooks.example.com/hasp", HASP_DOCUMENTED + ["baa.accepted"])
    assert created.status_code == 201, created.text
    assert created.json()["data"]["events"] == HASP_DOCUMENTED + ["baa.accepted"]
    listed = org.http.get("/v1/webhooks", headers=org.headers).json()["data"]
    assert listed[0]["events"] == HASP_DOCUMENTED + ["baa.accepted"]
    unknown = register(org, "https://hooks.example.com/hasp", ["record.exploded"])
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "VALIDATION_FAILED"
