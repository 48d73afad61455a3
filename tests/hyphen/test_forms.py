# ruff: noqa: F811 - the fixtures come from tests.hyphen.gateway_kit
"""Forms over HTTP: pending list, submission as {"data"} and the older top-level form,
missing expected keys, submitting twice, tenancy, and a TTL that fails the run."""

from __future__ import annotations

import datetime as dt

from agentyard import flows
from agentyard.core import clock
from agentyard.core.store import connection
from tests.hyphen.http_kit import (  # noqa: F401 - fixtures
    api,
    consumer,
    hkey,
    other,
    poll,
    queue_name,
)

FORM = {
    "actions": [
        {
            "type": "PbotForm",
            "properties": {"expected_keys": ["shipping_address", "po"], "ttl_seconds": 600},
        },
        {"type": "PbotApproval", "properties": {"comment": "Ship to {{shipping_address}}?"}},
    ]
}


def start(api) -> str:
    wf = api.post("/workflows", json={"name": "form", "definition": FORM}).json()
    run_id = api.post(f"/workflows/{wf['id']}/execute", json={"input": {}}).json()["run_id"]
    poll(api, run_id, "paused")
    return run_id


def test_submit_forms(api, other, consumer):
    run_id = start(api)
    pending = api.get("/forms/pending").json()["forms"]
    assert [(f["run_id"], f["step_id"], f["expected_keys"]) for f in pending] == [
        (run_id, "0", ["shipping_address", "po"])
    ]
    assert pending[0]["expires_at"]
    assert other.get("/forms/pending").json()["forms"] == []
    assert other.post(f"/forms/{run_id}/0/submit", json={"data": {}}).status_code == 404
    r = api.post(f"/forms/{run_id}/0/submit", json={"data": {"po": "PO-1"}})
    assert r.status_code == 400 and "shipping_address" in r.json()["message"]
    r = api.post(
        f"/forms/{run_id}/0/submit", json={"data": {"po": "PO-1", "shipping_address": "1 Main St"}}
    )
    assert r.status_code == 200 and r.json()["status"] == "submitted"
    again = api.post(
        f"/forms/{run_id}/0/submit", json={"data": {"po": "x", "shipping_address": "y"}}
    )
    assert again.status_code == 409
    body = poll(api, run_id, "paused")
    assert body["pending_approval"]["comment"] == "Ship to 1 Main St?"
    assert body["context"]["po"] == "PO-1"


def test_the_older_top_level_form(api, consumer):
    run_id = start(api)
    r = api.post(f"/forms/{run_id}/0/submit", json={"po": "PO-2", "shipping_address": "Dock 4"})
    assert r.status_code == 200
    assert poll(api, run_id, "paused")["context"]["shipping_address"] == "Dock 4"


def test_a_form_ttl_fails_the_run(api, consumer):
    run_id = start(api)
    with connection():
        flows.sweep(clock.now() + dt.timedelta(seconds=601))  # what the reaper does
    body = poll(api, run_id, "failed")
    assert body["error"]["code"] == "timeout"
    assert api.get("/forms/pending").json()["forms"] == []
    late = api.post(
        f"/forms/{run_id}/0/submit", json={"data": {"po": "x", "shipping_address": "y"}}
    )
    assert late.status_code == 409
