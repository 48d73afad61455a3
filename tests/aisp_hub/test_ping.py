"""Ping: the hub delivers a ping and waits for the target's pong through the hub."""

from __future__ import annotations

import threading

import httpx

from tests.aisp_hub.conftest import SseReader


def answer_pings(realm, target, stop: threading.Event):
    """A target that answers each ping on its stream with a pong."""
    with (
        httpx.Client(base_url=str(realm.http.base_url), timeout=10) as client,
        client.stream(
            "GET",
            "/api/v1/messages/stream",
            headers={**target.headers, "Accept": "text/event-stream"},
        ) as response,
    ):
        reader = SseReader(response)
        while not stop.is_set():
            event = reader.next_event()["data"]
            if event["category"] != "ping":
                continue
            client.post(
                "/api/v1/messages",
                headers=target.headers,
                json={
                    "aisp": "0.1",
                    "from": target.id,
                    "to": event["from"],
                    "realm": realm.name,
                    "category": "pong",
                    "payload": {"nonce": event["payload"]["nonce"]},
                    "reply_to": event["id"],
                },
            )


def test_ping_alive_when_target_pongs(realm):
    pinger, target = realm.session(), realm.session()
    stop = threading.Event()
    thread = threading.Thread(target=answer_pings, args=(realm, target, stop), daemon=True)
    thread.start()
    try:
        r = None
        for _ in range(20):  # the responder's stream may still be connecting
            r = realm.http.post(
                f"/api/v1/sessions/{target.id}/ping",
                headers=pinger.headers,
                json={"nonce": "abc123"},
            )
            if r.status_code == 200:
                break
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "alive" and body["nonce"] == "abc123"
        assert 0 <= body["latency_ms"] < 1000
    finally:
        stop.set()


def test_ping_times_out_with_408_when_nobody_answers(realm):
    pinger, target = realm.session(), realm.session()
    r = realm.http.post(f"/api/v1/sessions/{target.id}/ping", headers=pinger.headers, json={})
    assert r.status_code == 408
    assert r.json()["error"]["code"] == "ping_timeout"
    # the ping itself landed in the target's inbox, with a generated nonce
    inbox = realm.http.get("/api/v1/messages", headers=target.headers).json()["messages"]
    assert inbox[0]["category"] == "ping" and inbox[0]["payload"]["nonce"]


def test_pong_with_wrong_nonce_or_from_elsewhere_does_not_count(realm):
    pinger, target, bystander = realm.session(), realm.session(), realm.session()
    result = {}

    def ping():
        result["r"] = realm.http.post(
            f"/api/v1/sessions/{target.id}/ping", headers=pinger.headers, json={"nonce": "n1"}
        )

    t = threading.Thread(target=ping)
    t.start()
    ping_msg = None
    for _ in range(50):
        msgs = realm.http.get("/api/v1/messages", headers=target.headers).json()["messages"]
        if msgs:
            ping_msg = msgs[0]
            break
    assert ping_msg is not None
    pong = {"category": "pong", "reply_to": ping_msg["id"]}
    realm.send(target, pinger, payload={"nonce": "wrong"}, **pong)
    realm.send(bystander, pinger, payload={"nonce": "n1"}, **pong)
    t.join()
    assert result["r"].status_code == 408


def test_ping_unknown_or_foreign_session_is_404(make_realm):
    realm, other = make_realm(), make_realm()
    pinger, stranger = realm.session(), other.session()
    for target in ("sess_01HX9J2N3PQRSTVWXYZ0123456", stranger.id):
        r = realm.http.post(f"/api/v1/sessions/{target}/ping", headers=pinger.headers, json={})
        assert r.status_code == 404
