"""App webhooks: create and update over HTTP, and `profile.created` delivered to a local
receiver with the configured method and headers, retried, counted."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from agentyard.core import clock
from agentyard.core import webhooks as deliveries
from agentyard.core.store import connection
from agentyard.harnesslayer import webhooks
from agentyard.harnesslayer.models import App, Organization
from agentyard.harnesslayer.people_models import Webhook
from tests.harnesslayer.people_helpers import (
    error,
    profile,
    running_consumer,
    serving_receiver,
    webhook,
)

FAST = (0, 0.1, 0.1, 0.1, 0.1)  # stands for the 5-attempt production schedule


@pytest.fixture(scope="module")
def receiver():
    with serving_receiver() as r:
        yield r


@pytest.fixture(scope="module")
def consumer(app):
    with running_consumer():
        yield


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(webhooks, "SCHEDULE", FAST)


def update(ws, **body):
    return ws.http.post("/v1/webhook/update", headers=ws.headers, json=body)


def current(ws, webhook_id: str) -> dict:
    """The webhook as it is now (an update that changes nothing answers it)."""
    r = update(ws, webhookId=webhook_id)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def counted(ws, webhook_id: str, runs: int, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while (data := current(ws, webhook_id))["runCount"] < runs and time.monotonic() < deadline:
        time.sleep(0.03)
    return data


def settled(ws, webhook_id: str, timeout: float = 10.0) -> deliveries.Delivery:
    """The webhook's one delivery, once it has succeeded or failed for good."""
    deadline = time.monotonic() + timeout
    while True:
        with connection():
            tenant = Organization.get_by_id(ws.org_id).tenant
            found = deliveries.deliveries(tenant, webhook_id)
        if found and found[0].status != deliveries.PENDING:
            [delivery] = found
            return delivery
        assert time.monotonic() < deadline, "delivery still pending"
        time.sleep(0.03)


def attempt_codes(delivery: deliveries.Delivery) -> list[int | None]:
    with connection():
        return [a.status_code for a in deliveries.attempts(delivery.id)]


# --- configuration ---------------------------------------------------------------------------


def test_create_returns_every_documented_field(ws):
    app = ws.app()
    r = ws.http.post(
        "/v1/webhook/create",
        headers=ws.headers,
        json={
            "appId": app["slug"],
            "event": "profile.created",
            "url": "https://example.com/harnesslayer/webhook",
            "headers": {"Authorization": "Bearer your-webhook-secret"},
        },
    )
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    assert data["id"].startswith("wh-") and data["appId"] == app["id"]
    assert (data["event"], data["method"]) == ("profile.created", "POST")
    assert data["url"] == "https://example.com/harnesslayer/webhook"
    assert data["headers"] == {"Authorization": "Bearer your-webhook-secret"}
    assert data["runCount"] == 0 and data["lastTriggeredAt"] is None
    assert data["createdAt"].endswith("Z") and data["createdAt"] == data["updatedAt"]
    plain = webhook(ws, app["id"], "https://example.com/h", method="DELETE")
    assert plain["method"] == "DELETE" and plain["headers"] is None


@pytest.mark.parametrize(
    "changes",
    [
        {"event": "profile.deleted"},
        {"method": "HEAD"},
        {"method": "post"},
        {"url": "ftp://example.com/h"},
        {"url": "example.com/h"},
        {"url": "https://"},
        {"url": "https://exa mple.com/"},
        {"url": "https://example.com:0/"},
        {"url": "https://example.com:99999/"},
        {"url": "https://a..b/"},
        {"url": "https://[::1/"},
        {"url": "https://example.com/\u00e9"},
        {"headers": {"Content-Type": "text/plain"}},
        {"headers": {"host": "evil.example"}},
        {"headers": {"Webhook-Id": "forged"}},
        {"headers": {"Transfer-Encoding": "chunked"}},
        {"headers": {"Connection": "close"}},
        {"headers": {"Content-Length": "3"}},
        {"headers": {"Bad Name": "x"}},
        {"headers": {"X-Ok": "line\r\nInjected: yes"}},
        {"headers": {"X-Emoji": "\U0001f600"}},
        {"headers": {"X-Num": 5}},
        {"headers": {f"X-H{i}": "v" for i in range(21)}},
        {"secret": "whsec_x"},
    ],
)
def test_create_refuses_bad_values(ws, changes):
    app = ws.app()
    body = {
        "appId": app["id"],
        "event": "profile.created",
        "url": "https://example.com/",
        **changes,
    }
    error(ws.http.post("/v1/webhook/create", headers=ws.headers, json=body), 400, "bad_request")


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest",
        "http://[::ffff:10.0.0.1]/hook",
        "https://[fd00::1]:8443/hook",
        "https://[::]/",
    ],
)
def test_well_formed_urls_the_policy_refuses_are_403(ws, url):
    """Valid by the schema, refused by the server's network policy: 403 `url_refused`
    (the test configuration allows only 127.0.0.1 and ::1 as private targets)."""
    app = ws.app()
    body = {"appId": app["id"], "event": "profile.created", "url": url}
    r = ws.http.post("/v1/webhook/create", headers=ws.headers, json=body)
    assert error(r, 403, "url_refused")["details"] == {"field": "url"}
    made = webhook(ws, app["id"], "https://example.com/a")
    error(update(ws, webhookId=made["id"], url=url), 403, "url_refused")
    assert current(ws, made["id"]) == made
    hook = {"name": "out", "url": url}
    body = {"appId": app["id"], "slug": "web", "type": "api", "webhook": hook}
    error(ws.http.post("/v1/channel/create", headers=ws.headers, json=body), 403, "url_refused")


def test_update_changes_only_what_is_sent(ws):
    app = ws.app()
    made = webhook(ws, app["id"], "https://example.com/a", headers={"X-Token": "1"})
    r = update(ws, webhookId=made["id"], method="PATCH", url="https://example.com/b")
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert (data["method"], data["url"], data["headers"]) == (
        "PATCH",
        "https://example.com/b",
        {"X-Token": "1"},
    )
    assert data["updatedAt"] >= made["updatedAt"] and data["createdAt"] == made["createdAt"]
    # The alias `id`; headers replaced as a whole; run metadata settable and clearable.
    data = update(
        ws,
        id=made["id"],
        headers={"Authorization": "Bearer b"},
        runCount=41,
        lastTriggeredAt="2031-02-03T04:05:06+02:00",
    ).json()["data"]
    assert data["headers"] == {"Authorization": "Bearer b"} and data["runCount"] == 41
    assert data["lastTriggeredAt"] == "2031-02-03T02:05:06.000Z"
    data = update(ws, webhookId=made["id"], headers=None, lastTriggeredAt=None).json()["data"]
    assert data["headers"] is None and data["lastTriggeredAt"] is None and data["runCount"] == 41
    assert current(ws, made["id"]) == data


@pytest.mark.parametrize(
    "body",
    [
        {"runCount": -1},
        {"runCount": 1.5},
        {"runCount": 2**64},
        {"lastTriggeredAt": "yesterday"},
        {"lastTriggeredAt": "2031-02-03T04:05:06"},
        {"url": "http://10.0.0.1:0/"},
        {"headers": {"webhook-signature": "v1,x"}},
        {"event": "session.created"},
        {"method": "OPTIONS"},
        {"appId": "x"},
    ],
)
def test_update_refuses_bad_values(ws, body):
    made = webhook(ws, ws.app()["id"], "https://example.com/a")
    error(update(ws, webhookId=made["id"], **body), 400, "bad_request")
    assert current(ws, made["id"]) == made


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"method": "PUT"},
        {"webhookId": "wh-a", "id": "wh-b"},
        {"id": ""},
        {"webhookId": "wh-a", "id": "wh-a"},  # exactly one: the alias or the name, not both
    ],
)
def test_update_needs_one_webhook_id(ws, body):
    error(update(ws, **body), 400, "bad_request")


def test_other_organizations_webhooks_and_apps_are_404(ws, other_ws):
    app = ws.app()
    made = webhook(ws, app["id"], "https://example.com/a")
    error(update(other_ws, webhookId=made["id"], runCount=5), 404, "not_found")
    error(update(other_ws, id=made["id"]), 404, "not_found")
    body = {"appId": app["id"], "event": "profile.created", "url": "https://example.com/"}
    r = other_ws.http.post("/v1/webhook/create", headers=other_ws.headers, json=body)
    error(r, 404, "not_found")
    error(update(ws, webhookId="wh-nope"), 404, "not_found")
    assert current(ws, made["id"])["runCount"] == 0
    error(ws.http.post("/v1/webhook/create", json=body), 401, "unauthorized")


def test_webhooks_of_a_deleted_app_are_404(ws):
    app = ws.app()
    made = webhook(ws, app["id"], "https://example.com/a")
    assert ws.http.delete(f"/v1/app/{app['id']}", headers=ws.headers).status_code == 202
    error(update(ws, webhookId=made["id"]), 404, "not_found")


# --- deliveries ------------------------------------------------------------------------------


def test_profile_created_is_posted_with_the_configured_headers(ws, receiver, consumer):
    app = ws.app()
    url = receiver.url()
    made = webhook(
        ws, app["id"], url, headers={"Authorization": "Bearer s3cret", "User-Agent": "mine/1"}
    )
    quiet = webhook(ws, ws.app()["id"], receiver.url())  # another app's webhook
    before = clock.now() - dt.timedelta(seconds=1)
    prof = profile(ws, app["id"], "ann@example.com", metadata={"plan": "pro"})

    [hit] = receiver.wait(url)
    assert hit.method == "POST" and hit.args == {}
    assert hit.headers["Authorization"] == "Bearer s3cret"
    assert hit.headers["User-Agent"] == "mine/1"
    assert hit.headers["Content-Type"] == "application/json"
    assert (
        hit.headers["Webhook-Id"] and abs(int(hit.headers["Webhook-Timestamp"]) - time.time()) < 30
    )
    assert "Webhook-Signature" not in hit.headers and "X-Hasp-Signature-256" not in hit.headers
    body = json.loads(hit.body)
    assert set(body) == {"event", "appId", "data", "createdAt"}
    assert (body["event"], body["appId"], body["data"]) == ("profile.created", app["id"], prof)
    assert body["createdAt"].endswith("Z")

    data = counted(ws, made["id"], 1)
    assert data["runCount"] == 1
    assert clock.parse(data["lastTriggeredAt"]) >= before
    assert data["updatedAt"] == made["updatedAt"]  # deliveries are not configuration changes
    assert current(ws, quiet["id"])["runCount"] == 0
    # The delivery is recorded by core, with its attempt; the headers are not stored there.
    delivery = settled(ws, made["id"])
    assert delivery.status == "succeeded" and delivery.id == hit.headers["Webhook-Id"]
    assert "s3cret" not in delivery.options and "s3cret" not in delivery.payload
    assert attempt_codes(delivery) == [200]


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_get_and_delete_send_the_event_as_query_parameters(ws, receiver, consumer, method):
    app = ws.app()
    url = receiver.url() + "?source=hl"
    made = webhook(ws, app["id"], url, method=method, headers={"X-Api-Key": "k1"})
    prof = profile(ws, app["id"], "bo")
    [hit] = receiver.wait(url)
    assert hit.method == method and hit.body == b""
    assert hit.args == {
        "source": "hl",
        "event": "profile.created",
        "appId": app["id"],
        "profileId": prof["id"],
    }
    assert hit.headers["X-Api-Key"] == "k1" and "Content-Type" not in hit.headers
    assert counted(ws, made["id"], 1)["runCount"] == 1


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_put_and_patch_send_the_json_body(ws, receiver, consumer, method):
    app = ws.app()
    url = receiver.url()
    webhook(ws, app["id"], url, method=method)
    prof = profile(ws, app["id"], "cy")
    [hit] = receiver.wait(url)
    assert hit.method == method and json.loads(hit.body)["data"]["id"] == prof["id"]


def test_a_method_change_applies_to_later_events(ws, receiver, consumer):
    app = ws.app()
    url = receiver.url()
    made = webhook(ws, app["id"], url)
    update(ws, webhookId=made["id"], method="PUT", headers={"X-V": "2"})
    profile(ws, app["id"], "dee")
    [hit] = receiver.wait(url)
    assert hit.method == "PUT" and hit.headers["X-V"] == "2"


def test_failures_are_retried_and_only_successes_count(ws, receiver, consumer, fast_retries):
    app = ws.app()
    flaky = receiver.url(500, 503)
    broken = receiver.url(*[500] * 10)
    flaky_hook = webhook(ws, app["id"], flaky)
    broken_hook = webhook(ws, app["id"], broken)
    profile(ws, app["id"], "eve")

    ok = settled(ws, flaky_hook["id"])
    assert ok.status == "succeeded" and attempt_codes(ok) == [500, 503, 200]
    assert len(receiver.hits_for(flaky)) == 3
    data = current(ws, flaky_hook["id"])
    assert data["runCount"] == 1 and data["lastTriggeredAt"] is not None

    failed = settled(ws, broken_hook["id"])  # 5 attempts, then it gives up
    assert failed.status == "failed" and attempt_codes(failed) == [500] * 5
    hits = receiver.hits_for(broken)
    assert len(hits) == 5 and {h.headers["Webhook-Id"] for h in hits} == {failed.id}
    data = current(ws, broken_hook["id"])
    assert data["runCount"] == 0 and data["lastTriggeredAt"] is None


def test_the_production_schedule_has_five_attempts():
    assert webhooks.SCHEDULE == (0, 10, 60, 300, 1800)


def test_a_run_counter_set_by_update_keeps_counting(ws, receiver, consumer):
    app = ws.app()
    url = receiver.url()
    made = webhook(ws, app["id"], url)
    update(ws, webhookId=made["id"], runCount=10)
    profile(ws, app["id"], "fay")
    assert counted(ws, made["id"], 11)["runCount"] == 11


def test_return_if_exist_fires_nothing(ws, receiver, consumer):
    app = ws.app()
    url = receiver.url()
    webhook(ws, app["id"], url)
    profile(ws, app["id"], "gus")
    receiver.wait(url)
    again = ws.http.post(
        "/v1/profile/create",
        headers=ws.headers,
        json={"appId": app["id"], "identifier": "gus", "returnIfExist": True},
    )
    assert again.status_code == 200
    time.sleep(0.4)
    assert len(receiver.hits_for(url)) == 1


def test_private_targets_are_checked_again_at_delivery_time(ws, receiver, consumer, monkeypatch):
    monkeypatch.setattr(webhooks, "SCHEDULE", (0,))
    app = ws.app()
    url = receiver.url().replace("127.0.0.1", "localhost")  # a name: resolved when sent
    made = webhook(ws, app["id"], url)
    # The configuration changes: loopback targets are no longer allowed.
    policy = deliveries.policy()
    deliveries.configure(allow_private=False, require_https=False)
    try:
        r = update(ws, webhookId=made["id"], url=receiver.url())
        error(r, 403, "url_refused")  # refused when configured...
        profile(ws, app["id"], "hal")  # ...and when sent (the stored URL is a name)
        with connection():
            tenant = App.get_by_id(app["id"]).organization.tenant
            deadline = time.monotonic() + 10
            while not (found := deliveries.deliveries(tenant, made["id"], status="failed")):
                assert time.monotonic() < deadline
                time.sleep(0.03)
            [attempt] = deliveries.attempts(found[0].id)
            assert attempt.error.startswith("refused")
    finally:
        deliveries.configure(
            allow_private=policy.allow_private,
            require_https=policy.require_https,
            schedule=policy.schedule,
            timeout=policy.timeout,
            user_agent=policy.user_agent,
        )
    assert receiver.hits_for(url) == []
    assert current(ws, made["id"])["runCount"] == 0


def test_a_deleted_app_stops_pending_deliveries(ws, receiver, consumer, monkeypatch):
    monkeypatch.setattr(webhooks, "SCHEDULE", (0, 0.3))
    app = ws.app()
    url = receiver.url(500)
    made = webhook(ws, app["id"], url)
    profile(ws, app["id"], "ida")
    receiver.wait(url)
    assert ws.http.delete(f"/v1/app/{app['id']}", headers=ws.headers).status_code == 202
    delivery = settled(ws, made["id"])
    assert delivery.status == "failed" and delivery.last_error == "endpoint no longer exists"
    assert len(receiver.hits_for(url)) == 1  # the retry found the webhook gone
    deadline = time.monotonic() + 10
    while True:  # the deletion job removes the webhook row
        with connection():
            if Webhook.get_or_none(Webhook.id == made["id"]) is None:
                break
        assert time.monotonic() < deadline
        time.sleep(0.03)
