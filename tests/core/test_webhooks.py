"""Webhook delivery against a live local receiver that verifies both signature schemes, the
retry schedule (scaled down), and the SSRF guard."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from flask import Flask, Response, request
from standardwebhooks import Webhook
from ulid import ULID
from werkzeug.serving import make_server

from agentyard.core import clock, jobs, keys, netguard, webhooks
from agentyard.core.store import connection
from agentyard.hasp import webhook_signing
from agentyard.hasp.webhook_signing import hasp_signature, verify_hasp_signature

LOCAL = "127.0.0.1/32"
TIMEOUT = 0.4  # stands for HASP's 10 s
SLOW = 1.2  # a receiver slower than TIMEOUT

ENDPOINTS: dict[str, str | list[str]] = {}  # endpoint_ref -> secret(s): the product's table


def resolve_secret(tenant_id: str, endpoint_ref: str):
    return ENDPOINTS.get(endpoint_ref)


webhooks.register_secret_resolver("test", resolve_secret)
# "test" deliveries are sent the way HASP's are: both schemes, HASP's User-Agent.
webhooks.register_product(
    "test", user_agent=webhook_signing.USER_AGENT, schemes=webhook_signing.SCHEMES
)


# --- the receiver --------------------------------------------------------------------------


@dataclass
class Hit:
    at: float
    headers: dict[str, str]
    body: bytes
    host: str
    hasp_ok: bool
    standard_ok: bool


@dataclass
class Receiver:
    base: str
    secrets: dict[str, str] = field(default_factory=dict)  # path -> secret
    scripts: dict[str, list[str]] = field(default_factory=dict)  # path -> actions, in order
    hits: dict[str, list[Hit]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def endpoint(self, *actions: str, secret: str | None = None) -> tuple[str, str, str]:
        """A fresh path answering with `actions` in turn (then "ok"): (url, ref, secret)."""
        ref = f"ep_{secrets.token_hex(6)}"
        secret = secret or webhooks.new_secret()
        path = f"/hook/{ref}"
        with self.lock:
            self.secrets[path] = secret
            self.scripts[path] = list(actions)
        ENDPOINTS[ref] = secret
        return f"{self.base}{path}", ref, secret

    def hits_for(self, url: str) -> list[Hit]:
        path = url[len(self.base) :]
        with self.lock:
            return list(self.hits.get(path, []))


def build_receiver(state: Receiver) -> Flask:
    app = Flask("receiver")

    @app.post("/hook/<ref>")
    def hook(ref: str) -> Response:
        body = request.get_data()
        path = request.path
        with state.lock:
            secret = state.secrets.get(path, "")
            script = state.scripts.get(path, [])
            action = script.pop(0) if script else "ok"
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        hasp_ok = hmac.compare_digest(expected, request.headers.get("X-Hasp-Signature-256", ""))
        try:
            Webhook(secret).verify(body, dict(request.headers))
            standard_ok = True
        except Exception:
            standard_ok = False
        hit = Hit(time.monotonic(), dict(request.headers), body, request.host, hasp_ok, standard_ok)
        with state.lock:
            state.hits.setdefault(path, []).append(hit)
        if action == "500":
            return Response("boom", status=500)
        if action == "redirect":
            return Response("", status=302, headers={"Location": f"/elsewhere/{ref}"})
        if action == "slow":
            time.sleep(SLOW)
        return Response("thanks", status=200)

    @app.route("/elsewhere/<ref>", methods=["GET", "POST"])
    def elsewhere(ref: str) -> Response:
        with state.lock:
            state.hits.setdefault(request.path, []).append(
                Hit(time.monotonic(), dict(request.headers), b"", request.host, False, False)
            )
        return Response("followed", status=200)

    return app


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    state = Receiver(base="")
    server = make_server("127.0.0.1", 0, build_receiver(state), threaded=True)
    state.base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    thread.join(5)


def restore(previous: jobs.Backend | None, running: dict | None) -> None:
    """Put back the queue binding (and consumer) that was there before the test."""
    if previous is not None:
        jobs.bind(previous)
        if running is not None:
            jobs.start_consumer(**running)


@pytest.fixture
def queue(app, settings, monkeypatch) -> Iterator[None]:
    """A fresh queue on this backend with a fast in-process consumer."""
    monkeypatch.setattr(jobs, "REDIS_BLOCK_SECONDS", 0.1)  # quick consumer stops
    previous, running = jobs.current_backend(), jobs.stop_consumer()
    huey = jobs.configure(settings, name=f"agentyard-test-{secrets.token_hex(4)}")
    jobs.start_consumer(workers=2, poll_interval=0.02, scheduler_interval=0.02)
    try:
        yield
    finally:
        jobs.stop_consumer()
        huey.flush()
        restore(previous, running)


@pytest.fixture
def tenant(app):
    with connection():
        row, _ = keys.get_or_create_tenant("webhooks-test", f"t-{secrets.token_hex(4)}")
    return row


def send(tenant, url: str, ref: str, **options) -> webhooks.Delivery:
    options = {
        "allow_private": LOCAL,
        "require_https": False,
        "timeout": TIMEOUT,
        "schedule": (0,),
        **options,
    }
    payload = {"event": "record.created", "data": {"name": "Zoë", "n": 1}}
    with connection():
        return webhooks.enqueue(tenant, "test", ref, url, "record.created", payload, **options)


def settled(delivery_id: str, timeout: float = 15.0) -> webhooks.Delivery:
    deadline = time.monotonic() + timeout
    while True:
        with connection():
            row = webhooks.Delivery.get_by_id(delivery_id)
        if row.status != webhooks.PENDING:
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"delivery still pending after {row.attempts} attempts")
        time.sleep(0.03)


def attempts_of(delivery_id: str) -> list[webhooks.Attempt]:
    with connection():
        return webhooks.attempts(delivery_id)


def gap(before: webhooks.Attempt, after: webhooks.Attempt) -> float:
    """Seconds from the end of one attempt to the start of the next."""
    ended = before.started_at + dt.timedelta(milliseconds=before.duration_ms)
    return (after.started_at - ended).total_seconds()


# --- delivery ------------------------------------------------------------------------------


def test_a_delivery_carries_both_signatures_and_is_recorded(queue, receiver, tenant):
    url, ref, secret = receiver.endpoint("ok")
    delivery = send(tenant, url, ref)
    done = settled(delivery.id)
    assert done.status == "succeeded" and done.attempts == 1
    assert done.last_status_code == 200 and done.last_error is None and done.next_attempt_at is None

    [hit] = receiver.hits_for(url)
    assert hit.hasp_ok and hit.standard_ok
    assert hit.body == done.payload.encode() == delivery.body
    assert json.loads(hit.body)["data"]["name"] == "Zoë"
    assert hit.headers["Content-Type"] == "application/json"
    assert hit.headers["User-Agent"] == "Hasp-Webhook/1.0"
    assert hit.headers["X-Hasp-Webhook-Id"] == hit.headers["Webhook-Id"] == delivery.id
    assert abs(int(hit.headers["Webhook-Timestamp"]) - time.time()) < 30

    [row] = attempts_of(delivery.id)
    assert (row.number, row.status_code, row.error, row.response_snippet) == (
        1,
        200,
        None,
        "thanks",
    )
    assert row.duration_ms is not None and row.duration_ms < TIMEOUT * 1000


@pytest.mark.parametrize("second_failure", ["slow", "redirect"])
def test_retries_follow_the_schedule_until_a_2xx(queue, receiver, tenant, second_failure):
    schedule = (0, 0.3, 0.5, 5, 5, 5)
    url, ref, _ = receiver.endpoint("500", second_failure, "ok")
    delivery = send(tenant, url, ref, schedule=schedule)
    done = settled(delivery.id)
    assert done.status == "succeeded" and done.attempts == 3

    first, second, third = rows = attempts_of(delivery.id)
    assert [r.number for r in rows] == [1, 2, 3]
    assert (first.status_code, first.error) == (500, "HTTP 500")
    assert first.response_snippet == "boom"
    if second_failure == "slow":
        assert second.status_code is None and second.error.startswith("timeout")
        assert second.duration_ms < SLOW * 1000
    else:
        assert second.status_code == 302 and "redirect not followed" in second.error
    assert (third.status_code, third.error) == (200, None)
    assert 0.3 - 0.02 <= gap(first, second) < 0.3 + 1.5
    assert 0.5 - 0.02 <= gap(second, third) < 0.5 + 1.5

    hits = receiver.hits_for(url)
    assert len(hits) == 3 and all(h.hasp_ok and h.standard_ok for h in hits)
    assert len({h.headers["Webhook-Id"] for h in hits}) == 1  # one id across retries
    assert receiver.hits_for(f"{receiver.base}/elsewhere/{ref}") == []


def test_a_delivery_fails_after_six_attempts(queue, receiver, tenant):
    url, ref, _ = receiver.endpoint(*["500"] * 10)
    delivery = send(tenant, url, ref, schedule=(0, 0.05, 0.05, 0.05, 0.05, 0.05))
    done = settled(delivery.id)
    assert done.status == "failed" and done.attempts == 6
    assert done.last_status_code == 500 and done.next_attempt_at is None
    assert [r.number for r in attempts_of(delivery.id)] == [1, 2, 3, 4, 5, 6]
    time.sleep(0.3)
    assert len(receiver.hits_for(url)) == 6


def test_retry_statuses_make_other_answers_final(queue, receiver, tenant):
    url, ref, _ = receiver.endpoint("500", "redirect", "ok")
    delivery = send(tenant, url, ref, schedule=(0, 0.05, 0.05), retry_statuses=(500, 503))
    done = settled(delivery.id)
    assert done.status == "failed" and done.attempts == 2 and done.next_attempt_at is None
    assert [r.status_code for r in attempts_of(delivery.id)] == [500, 302]
    assert done.settings.retry_statuses == (500, 503)
    time.sleep(0.2)
    assert len(receiver.hits_for(url)) == 2


def test_send_now_returns_the_first_attempts_outcome_while_a_consumer_runs(queue, receiver, tenant):
    """The first attempt runs in the call (no queued job races it), later ones are queued."""
    url, ref, _ = receiver.endpoint("500", "ok")
    delivery = send(tenant, url, ref, schedule=(0, 0.2), send_now=True)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    done = settled(delivery.id)
    assert done.status == "succeeded" and done.attempts == 2
    assert len(receiver.hits_for(url)) == 2

    url, ref, _ = receiver.endpoint("500")
    failed = send(tenant, url, ref, schedule=(0,), send_now=True)
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 1, "HTTP 500")
    time.sleep(0.2)
    assert len(receiver.hits_for(url)) == 1


def test_the_default_schedule_is_hasps():
    assert webhooks.SCHEDULE == (0, 10, 60, 300, 1800, 7200)
    assert webhooks.TIMEOUT == 10.0
    assert webhooks.policy().schedule == webhooks.SCHEDULE


def test_a_redirect_is_not_followed(queue, receiver, tenant):
    url, ref, _ = receiver.endpoint("redirect")
    done = settled(send(tenant, url, ref).id)
    assert done.status == "failed" and done.last_status_code == 302
    assert "redirect not followed" in done.last_error and f"/elsewhere/{ref}" in done.last_error
    assert receiver.hits_for(f"{receiver.base}/elsewhere/{ref}") == []


def test_a_slow_receiver_times_out(queue, receiver, tenant):
    url, ref, _ = receiver.endpoint("slow")
    done = settled(send(tenant, url, ref).id)
    assert done.status == "failed" and done.last_status_code is None
    assert done.last_error.startswith("timeout")
    [row] = attempts_of(done.id)
    assert TIMEOUT * 1000 * 0.9 <= row.duration_ms < SLOW * 1000


def test_a_deleted_endpoint_stops_the_retries(queue, receiver, tenant):
    url, ref, _ = receiver.endpoint("500", "ok")
    delivery = send(tenant, url, ref, schedule=(0, 0.5))
    deadline = time.monotonic() + 10
    while not attempts_of(delivery.id) or attempts_of(delivery.id)[0].duration_ms is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    del ENDPOINTS[ref]
    done = settled(delivery.id)
    assert done.status == "failed" and done.attempts == 1
    assert done.last_error == "endpoint no longer exists"
    assert len(receiver.hits_for(url)) == 1


def test_a_private_target_is_refused_at_each_attempt(queue, receiver, tenant):
    url, ref, _ = receiver.endpoint("ok")
    with pytest.raises(netguard.RefusedURLError):  # an address literal is refused up front
        send(tenant, url, ref, allow_private=False)
    by_name = url.replace("127.0.0.1", "localhost")  # a name is checked when it is resolved
    delivery = send(tenant, by_name, ref, allow_private=False, schedule=(0, 0.05))
    done = settled(delivery.id)
    assert done.status == "failed" and done.attempts == 2
    assert all(r.error.startswith("refused") for r in attempts_of(delivery.id))
    assert receiver.hits_for(url) == []


def test_an_attempt_runs_once_however_often_its_job_runs(queue, receiver, tenant):
    url, ref, _ = receiver.endpoint("500", "ok")
    delivery = send(tenant, url, ref, schedule=(3600, 3600))  # the consumer stays out of it
    outcomes: list[str] = []

    def run() -> None:
        with connection():
            outcomes.append(webhooks.attempt(delivery.id, 1))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(outcomes) == ["retrying", "skipped", "skipped", "skipped"]
    assert len(receiver.hits_for(url)) == 1
    with connection():
        assert webhooks.attempt(delivery.id, 1) == "skipped"
        assert webhooks.attempt("01NOSUCHDELIVERY0000000000", 1) == "missing"


def test_recover_requeues_an_overdue_delivery(queue, receiver, tenant):
    url, ref, _ = receiver.endpoint("ok")
    delivery = send(tenant, url, ref, schedule=(3600,))  # its job is an hour away: "lost"
    with connection():
        assert webhooks.recover() == 0
        later = clock.now() + dt.timedelta(hours=2)
        assert webhooks.recover(now=later) >= 1  # earlier tests' deliveries may be due too
    done = settled(delivery.id)
    assert done.status == "succeeded" and len(receiver.hits_for(url)) == 1


def test_recover_fails_a_delivery_interrupted_in_its_final_attempt(queue, tenant, receiver):
    url, ref, _ = receiver.endpoint("ok")
    with connection():
        delivery = webhooks.Delivery.create(
            id=str(ULID()),
            tenant=tenant,
            product="test",
            endpoint_ref=ref,
            url=url,
            event="record.created",
            payload="{}",
            attempts=1,
            next_attempt_at=clock.now() - dt.timedelta(hours=1),
            created_at=clock.now(),
            options=webhooks.DeliveryOptions(schedule=(0,)).to_json(),
        )
        webhooks.Attempt.create(delivery=delivery, number=1, started_at=clock.now())
        webhooks.recover()
        row = webhooks.Delivery.get_by_id(delivery.id)
        assert row.status == "failed" and "interrupted" in row.last_error
        assert webhooks.attempts(delivery.id)[0].error == "interrupted"


# --- enqueue rules and queries ------------------------------------------------------------


def test_enqueue_rejects_what_can_never_be_sent(app, tenant):
    with connection():
        with pytest.raises(ValueError, match="https"):
            webhooks.enqueue(
                tenant, "test", "ep", "http://example.com/h", "e", {}, require_https=True
            )
        with pytest.raises(ValueError, match="resolver"):
            webhooks.enqueue(tenant, "nobody", "ep", "https://example.com/h", "e", {})
        with pytest.raises(ValueError):
            webhooks.enqueue(
                tenant, "test", "ep", "https://example.com/h", "e", {"x": float("nan")}
            )
        with pytest.raises(ValueError, match="signing"):
            webhooks.enqueue(tenant, "test", "ep", "https://example.com/", "e", {}, signing=("x",))
        with pytest.raises(ValueError):
            webhooks.enqueue(
                tenant, "test", "ep", "https://10.0.0.1/", "e", {}, allow_private=False
            )


def test_enqueue_takes_a_method_and_bodyless_methods_are_unsigned(app, tenant):
    with connection():
        with pytest.raises(ValueError, match="method"):
            webhooks.enqueue(tenant, "test", "ep", "https://example.com/", "e", {}, method="HEAD")
        with pytest.raises(ValueError, match="sign"):
            webhooks.enqueue(tenant, "test", "ep", "https://example.com/", "e", {}, method="GET")
    options = webhooks.DeliveryOptions(signing=(), method="DELETE")
    assert webhooks.DeliveryOptions.from_json(options.to_json()) == options
    older = json.loads(webhooks.DeliveryOptions().to_json())
    del older["method"]  # a delivery recorded before methods existed is a POST
    assert webhooks.DeliveryOptions.from_json(json.dumps(older)).method == "POST"


def test_extra_headers_never_replace_a_deliverys_own():
    secret = webhooks.new_secret()
    base = webhooks.signed_headers(secret, "01HZZ", b"{}", product="test")
    merged = webhooks.extra_headers(
        base,
        {
            "Authorization": "Bearer x",
            "user-agent": "mine/1",
            "X-Hasp-Signature-256": "sha256=forged",
            "Webhook-Id": "forged",
            "webhook-extra": "x",
            "Content-Type": "text/plain",
            "Host": "evil.example",
            "Bad Name": "x",
            "X-Split": "a\r\nInjected: b",
        },
    )
    assert merged["Authorization"] == "Bearer x" and merged["user-agent"] == "mine/1"
    assert "User-Agent" not in merged
    for name in ("X-Hasp-Signature-256", "webhook-id", "Content-Type"):
        assert merged[name] == base[name]
    for name in ("Webhook-Id", "webhook-extra", "Host", "Bad Name", "X-Split"):
        assert name not in merged
    unsigned = webhooks.unsigned_headers(
        "01HZZ", product="test", with_body=False, timestamp=1700000000
    )
    assert unsigned == {
        "User-Agent": "Hasp-Webhook/1.0",
        "webhook-id": "01HZZ",
        "webhook-timestamp": "1700000000",
    }
    assert webhooks.valid_header("X-Tab", "a\tb") and webhooks.valid_header("X", "caf\xe9")
    assert not webhooks.valid_header("X", "a\x7f") and not webhooks.valid_header("X", "\u20ac")


def test_queries_are_scoped_to_the_tenant(queue, receiver, tenant):
    with connection():
        other, _ = keys.get_or_create_tenant("webhooks-test", f"o-{secrets.token_hex(4)}")
    url, ref, _ = receiver.endpoint("ok")
    mine = [send(tenant, url, ref), send(tenant, url, ref)]
    theirs = send(other, url, ref)
    for d in [*mine, theirs]:
        settled(d.id)
    with connection():
        listed = webhooks.deliveries(tenant, ref)
        assert [d.id for d in listed] == [mine[1].id, mine[0].id]
        assert [d.id for d in webhooks.deliveries(other)] == [theirs.id]
        assert webhooks.deliveries(tenant, "ep_other") == []
        assert webhooks.deliveries(tenant, status="failed") == []
        assert webhooks.get_delivery(other, mine[0].id) is None
        assert webhooks.get_delivery(tenant, mine[0].id).id == mine[0].id
        assert webhooks.attempts(mine[0].id, tenant=other) == []
        assert len(webhooks.attempts(mine[0].id, tenant=tenant)) == 1


# --- signatures ----------------------------------------------------------------------------


def test_secrets_are_whsec_of_32_random_bytes():
    secret = webhooks.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert webhooks.new_secret() != secret


def test_signature_helpers_match_what_receivers_compute():
    secret, body = webhooks.new_secret(), b'{"a":1}'
    header = hasp_signature(secret, body)
    assert header == "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert verify_hasp_signature(secret, body, header)
    assert not verify_hasp_signature(secret, body + b" ", header)
    assert not verify_hasp_signature(webhooks.new_secret(), body, header)
    assert not verify_hasp_signature(secret, body, None)

    headers = webhooks.signed_headers(secret, "01HZZ", body, product="test")
    Webhook(secret).verify(body, headers)
    assert webhooks.verify_standard_signature(secret, body, headers)
    assert not webhooks.verify_standard_signature(webhooks.new_secret(), body, headers)
    stale = webhooks.standard_headers(secret, "01HZZ", body, timestamp=int(time.time()) - 600)
    assert not webhooks.verify_standard_signature(secret, body, stale)

    plain = "legacy-secret-not-whsec"
    headers = webhooks.signed_headers(plain, "01HZZ", body, product="test", signing=("standard",))
    assert "X-Hasp-Signature-256" not in headers
    Webhook(plain.encode()).verify(body, headers)


def test_a_rotated_secret_signs_with_both_during_the_grace_period():
    new, old, body = webhooks.new_secret(), webhooks.new_secret(), b"{}"
    headers = webhooks.signed_headers([new, old], "01HZZ", body, product="test")
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(body, headers)
    Webhook(old).verify(body, headers)
    assert verify_hasp_signature(new, body, headers["X-Hasp-Signature-256"])


def test_only_the_chosen_scheme_is_sent():
    headers = webhooks.signed_headers(
        webhooks.new_secret(), "01HZZ", b"{}", product="test", signing=("hasp",)
    )
    assert "webhook-signature" not in headers and "X-Hasp-Signature-256" in headers
    assert headers["User-Agent"] == "Hasp-Webhook/1.0"
    custom = webhooks.signed_headers("s", "1", b"{}", product="test", user_agent="Agentyard/1")
    assert custom["User-Agent"] == "Agentyard/1"


def hyphen_scheme(secrets, body, msg_id, timestamp):
    """A toy of Hyphen's future scheme: `X-Hyphen-Signature: sha256=<hex>`."""
    digest = hmac.new(secrets[0].encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hyphen-Signature": f"sha256={digest}"}


def test_a_product_registers_its_own_signature_scheme(queue, receiver, tenant):
    webhooks.register_product("toy", user_agent="Toy-Webhook/1.0", schemes={"hy": hyphen_scheme})
    webhooks.register_secret_resolver("toy", resolve_secret)
    url, ref, secret = receiver.endpoint("ok")
    payload = {"event": "thing.made", "data": {"n": 1}}
    with connection():
        delivery = webhooks.enqueue(
            tenant, "toy", ref, url, "thing.made", payload, allow_private=LOCAL, require_https=False
        )
        with pytest.raises(ValueError, match="signing"):  # not one of the toy's schemes
            webhooks.enqueue(tenant, "toy", ref, url, "e", {}, signing=("hasp",))
    assert delivery.settings.signing == ("hy",)
    assert delivery.settings.user_agent == "Toy-Webhook/1.0"
    done = settled(delivery.id)
    assert done.status == "succeeded", done.last_error
    [hit] = receiver.hits_for(url)
    expected = "sha256=" + hmac.new(secret.encode(), hit.body, hashlib.sha256).hexdigest()
    assert hit.headers["X-Hyphen-Signature"] == expected
    assert hit.headers["User-Agent"] == "Toy-Webhook/1.0"
    assert hit.headers["Content-Type"] == "application/json"
    assert not hit.hasp_ok and not hit.standard_ok  # only the toy's scheme is sent
    assert "X-Hasp-Webhook-Id" not in hit.headers and "Webhook-Signature" not in hit.headers


def test_an_unregistered_product_signs_with_standard_webhooks_only():
    headers = webhooks.signed_headers(webhooks.new_secret(), "01HZZ", b"{}", product="nobody")
    assert headers["User-Agent"] == webhooks.policy().user_agent
    assert "webhook-signature" in headers and "X-Hasp-Signature-256" not in headers
    with pytest.raises(LookupError, match="signing"):
        webhooks.signed_headers("s", "1", b"{}", product="nobody", signing=("hasp",))


# --- the SSRF guard ------------------------------------------------------------------------


def fake_dns(table: dict[str, list[str]]):
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        if host not in table:
            raise netguard.UnresolvableHostError(host)
        return table[host]

    resolve.calls = calls
    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://127.8.9.10:8443/x",
        "https://10.0.0.1/",
        "https://172.16.5.4/",
        "https://192.168.1.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/",
        "https://0.0.0.0/",
        "https://224.0.0.1/",
        "https://255.255.255.255/",
        "https://[::1]/",
        "https://[::]/",
        "https://[fe80::1]/",
        "https://[fc00::1]/",
        "https://[ff02::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:169.254.169.254]/",
        "https://[::ffff:10.0.0.1]/",
        "https://[64:ff9b::a9fe:a9fe]/",
        "https://[2002:7f00:1::1]/",
        "https://localhost/",
        "https://2130706433/",
        "https://0x7f.1/",
    ],
)
def test_non_public_targets_are_refused(url):
    with pytest.raises(netguard.RefusedURLError):
        netguard.check_url(url)


def test_names_resolving_to_private_addresses_are_refused():
    dns = fake_dns(
        {
            "internal.example": ["10.0.0.7"],
            "mixed.example": ["93.184.216.34", "127.0.0.1"],
            "meta.example": ["169.254.169.254"],
            "v6.example": ["::1"],
            "public.example": ["93.184.216.34", "2606:2800:220:1::"],
        }
    )
    for host in ["internal", "mixed", "meta", "v6"]:
        with pytest.raises(netguard.RefusedURLError, match="resolves to"):
            netguard.check_url(f"https://{host}.example/hook", resolver=dns)
    target = netguard.check_url("https://public.example/hook?a=1", resolver=dns)
    assert target.addresses == ("93.184.216.34", "2606:2800:220:1::")
    assert (target.host, target.port, target.path) == ("public.example", 443, "/hook?a=1")
    with pytest.raises(netguard.UnresolvableHostError):
        netguard.check_url("https://nowhere.example/", resolver=dns)


def test_allow_listed_targets_pass():
    dns = fake_dns({"receiver.lan": ["10.1.2.3"], "other.lan": ["10.9.9.9"]})
    netguard.check_url("https://127.0.0.1:9000/", LOCAL)
    netguard.check_url("https://[::ffff:127.0.0.1]/", LOCAL)
    netguard.check_url("https://[::1]/", "::1/128")
    netguard.check_url("https://localhost/", "localhost")
    netguard.check_url("https://receiver.lan/", "10.0.0.0/8", resolver=dns)
    netguard.check_url("https://receiver.lan/", ["receiver.lan"], resolver=dns)
    netguard.check_url("https://169.254.169.254/", True)
    netguard.check_url("https://10.0.0.1/", "*")
    with pytest.raises(netguard.RefusedURLError):
        netguard.check_url("https://10.0.0.1/", LOCAL)
    with pytest.raises(netguard.RefusedURLError):
        netguard.check_url("https://other.lan/", "receiver.lan", resolver=dns)
    allow = netguard.AllowList.parse("127.0.0.1/32, ::1/128 receiver.lan")
    assert netguard.AllowList.parse(allow.to_list()) == allow
    assert netguard.AllowList.parse("") == netguard.AllowList.parse(False)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/",
        "ftp://example.com/",
        "javascript:alert(1)",
        "https://",
        "https://exa mple.com/",
        "https://example.com:99999/",
        "https://example.com:0/",
        "https://example.com/" + "a" * 2048,
        "",
    ],
)
def test_malformed_or_plain_http_urls_are_refused(url):
    with pytest.raises(netguard.RefusedURLError):
        netguard.check_url(url, resolve=False)


def test_plain_http_is_allowed_when_https_is_not_required():
    dns = fake_dns({"example.com": ["93.184.216.34"]})
    target = netguard.check_url("http://example.com/h", require_https=False, resolver=dns)
    assert (target.scheme, target.port) == ("http", 80)


def test_requests_connect_to_the_checked_address_only(receiver):
    """DNS rebinding: the name is resolved once, and the connection goes to that address."""
    url, ref, _ = receiver.endpoint("ok")
    port = url.split(":")[2].split("/")[0]
    dns = fake_dns({"receiver.test": ["127.0.0.1"]})
    reply = netguard.request(
        "POST",
        url.replace("127.0.0.1", "receiver.test"),
        body=b"{}",
        allow_private=LOCAL,
        require_https=False,
        timeout=2,
        resolver=dns,
    )
    assert reply.status == 200 and reply.body == b"thanks" and reply.address == "127.0.0.1"
    assert dns.calls == ["receiver.test"]
    assert receiver.hits_for(url)[0].host == f"receiver.test:{port}"
    with pytest.raises(netguard.RefusedURLError):
        netguard.request("POST", url, require_https=False, timeout=2)


def test_requests_have_a_hard_deadline(receiver):
    url, _, _ = receiver.endpoint("slow")
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        netguard.request("POST", url, allow_private=LOCAL, require_https=False, timeout=0.3)
    assert time.monotonic() - start < SLOW


def _tls_pair(tmp_path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A throwaway CA and a certificate for `name`: (server context, client context)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def subject(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(subject("test ca"))
        .issuer_name(subject("test ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(subject(name))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(pem))
    (tmp_path / "leaf.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "leaf.key")
    client = ssl.create_default_context(cadata=ca.public_bytes(pem).decode())
    return server, client


def test_https_to_a_pinned_address_still_verifies_the_host_name(tmp_path):
    server_ctx, client_ctx = _tls_pair(tmp_path, "hooks.test")
    app = Flask("tls-receiver")
    seen: list[str] = []

    @app.post("/h")
    def h() -> Response:
        seen.append(request.host)
        return Response("ok", status=204)

    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=server_ctx)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_port
        dns = fake_dns({"hooks.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
        common = {"allow_private": LOCAL, "timeout": 3, "resolver": dns, "tls_context": client_ctx}
        reply = netguard.request("POST", f"https://hooks.test:{port}/h", **common)
        assert reply.status == 204 and seen == [f"hooks.test:{port}"]
        with pytest.raises(ssl.SSLCertVerificationError):  # certificate is for hooks.test
            netguard.request("POST", f"https://other.test:{port}/h", **common)
        with pytest.raises(ssl.SSLCertVerificationError):  # no trusted CA by default
            netguard.request(
                "POST", f"https://hooks.test:{port}/h", **{**common, "tls_context": None}
            )
    finally:
        server.shutdown()
        thread.join(5)


# --- IPv6-literal targets ------------------------------------------------------------------


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def receiver6() -> Iterator[Receiver]:
    """The same receiver, listening on the IPv6 loopback (`http://[::1]:port`)."""
    if not ipv6_loopback():
        pytest.skip("this machine has no IPv6 loopback (::1)")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    state = Receiver(base="")
    server = make_server("::1", 0, build_receiver(state), threaded=True)
    state.base = f"http://[::1]:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    thread.join(5)


def test_a_delivery_to_an_ipv6_literal_sends_a_well_formed_host(queue, receiver6, tenant):
    url, ref, _ = receiver6.endpoint("ok")
    port = url.split("]:")[1].split("/")[0]
    done = settled(send(tenant, url, ref, allow_private="::1/128").id)
    assert done.status == "succeeded" and done.last_status_code == 200, done.last_error
    [hit] = receiver6.hits_for(url)
    assert hit.headers["Host"] == f"[::1]:{port}"  # RFC 9110/3986: one pair of brackets
    assert hit.hasp_ok and hit.standard_ok


def test_requests_to_ipv6_literals_bracket_the_host_once(receiver, receiver6):
    # The IPv4-mapped form reaches the IPv4 receiver through a dual-stack socket.
    port4 = receiver.base.rsplit(":", 1)[1]
    for base, host, allow in (
        (receiver6.base, receiver6.base.split("//")[1], "::1/128"),
        (f"http://[::ffff:127.0.0.1]:{port4}", f"[::ffff:127.0.0.1]:{port4}", LOCAL),
    ):
        state = receiver6 if base == receiver6.base else receiver
        url, _, _ = state.endpoint("ok")
        url = base + url[len(state.base) :]
        reply = netguard.request(
            "POST", url, body=b"{}", allow_private=allow, require_https=False, timeout=3
        )
        assert reply.status == 200 and reply.body == b"thanks"
        [hit] = state.hits_for(url.replace(base, state.base))
        assert hit.headers["Host"] == host


def test_a_header_name_must_be_a_whole_token():
    assert webhooks.valid_header("X-Team", "a")
    # `$` in a pattern admits a trailing newline: the whole name must be a token.
    assert not webhooks.valid_header("X-Team\n", "a")
    assert not webhooks.valid_header("X Team", "a")
