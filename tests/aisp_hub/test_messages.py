"""Messages: envelope rules, routing, inbox polling and its atomicity."""

from __future__ import annotations

import threading
import time

MISSING = "sess_01HX9J2N3PQRSTVWXYZ0123456"


def test_send_then_poll_marks_read(realm):
    a, b = realm.session(), realm.session()
    r = realm.send(a, b, "delegate" if False else "inform", {"task": "summarize"})
    assert r.status_code == 200
    sent = r.json()
    assert sent["message_id"].startswith("msg_")
    assert sent["status"] == "queued" and sent["delivered"] is False
    inbox = realm.http.get("/api/v1/messages", headers=b.headers).json()
    assert inbox["unread_count"] == 1 and inbox["remaining"] == 0
    msg = inbox["messages"][0]
    assert msg["id"] == sent["message_id"]
    assert msg["from"] == a.id and msg["to"] == b.id and msg["category"] == "inform"
    assert msg["payload"] == {"task": "summarize"} and msg["sent_at"].endswith("Z")
    again = realm.http.get("/api/v1/messages", headers=b.headers).json()
    assert again == {"messages": [], "unread_count": 0, "remaining": 0}


def test_send_to_many(realm):
    a, b, c = realm.session(), realm.session(), realm.session()
    r = realm.send(a, [b.id, c.id], payload={"n": 1})
    assert r.status_code == 200
    assert {d["session_id"] for d in r.json()["recipients"]} == {b.id, c.id}
    for s in (b, c):
        inbox = realm.http.get("/api/v1/messages", headers=s.headers).json()
        assert [m["payload"] for m in inbox["messages"]] == [{"n": 1}]


def test_envelope_validation(realm):
    a, b = realm.session(), realm.session()
    cases = [
        ({"aisp": "9.9"}, 400),
        ({"category": "gossip"}, 400),
        ({"category": "grant.request"}, 400),
        # a `from` the caller may not send as: 403 (issue 10; it was 400)
        ({"from": b.id}, 403),
        ({"to": []}, 400),
        ({"to": [b.id, b.id]}, 400),
        # an id that names no session: 404 whatever its shape (issue 10; it was 400)
        ({"to": "not-a-session"}, 404),
        ({"to": "sess_02HX9J2N3PQRSTVWXYZ"}, 404),
        ({"to": "s" * 129}, 400),
        ({"payload": "text"}, 400),
        ({"extra": True}, 400),
        ({"realm": "elsewhere"}, 403),
        ({"to": MISSING}, 404),
        ({"to": [b.id, MISSING]}, 404),
    ]
    for override, status in cases:
        body = {
            "aisp": "0.1",
            "from": a.id,
            "to": b.id,
            "realm": realm.name,
            "category": "inform",
            "payload": {},
        }
        body.update(override)
        r = realm.http.post("/api/v1/messages", headers=a.headers, json=body)
        assert r.status_code == status, (override, r.text)
    assert realm.http.get("/api/v1/messages", headers=b.headers).json()["unread_count"] == 0


def test_recipient_in_another_realm_is_404(make_realm):
    realm, other = make_realm(), make_realm()
    a, stranger = realm.session(), other.session()
    r = realm.send(a, stranger)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "recipient_not_found"


def test_delegate_needs_a_delegate_receive_grant(realm):
    a, b = realm.session(), realm.session(capabilities=["delegate.receive"])
    r = realm.send(a, b, "delegate", {"task": "summarize"})
    assert r.status_code == 403
    assert r.json()["error"]["message"].startswith("No grant for target capability")
    assert realm.http.get("/api/v1/messages", headers=b.headers).json()["unread_count"] == 0
    grant_id = realm.grant(a, b, "delegate.receive")
    realm.http.get("/api/v1/messages", headers=b.headers)  # drop the grant.request notice
    assert realm.send(a, b, "delegate", {"task": "summarize"}).status_code == 200
    # one recipient without a grant blocks the whole send
    c = realm.session()
    assert realm.send(a, [b.id, c.id], "delegate").status_code == 403
    realm.http.delete(f"/api/v1/grants/{grant_id}", headers=b.headers)
    assert realm.send(a, b, "delegate").status_code == 403
    # other categories need no grant
    assert realm.send(a, c, "request").status_code == 200


def test_poll_filters_by_category_and_since(realm):
    a, b = realm.session(), realm.session()
    realm.send(a, b, "inform", {"i": 1})
    time.sleep(0.01)
    realm.send(a, b, "event", {"i": 2})
    events = realm.http.get("/api/v1/messages?category=event", headers=b.headers).json()
    assert [m["payload"]["i"] for m in events["messages"]] == [2]
    assert events["remaining"] == 1
    first = realm.http.get("/api/v1/messages", headers=b.headers).json()["messages"][0]
    realm.send(a, b, "inform", {"i": 3})
    time.sleep(0.01)
    realm.send(a, b, "inform", {"i": 4})
    polled = realm.http.get("/api/v1/messages?limit=1", headers=b.headers).json()
    assert [m["payload"]["i"] for m in polled["messages"]] == [3]
    since = polled["messages"][0]["sent_at"]
    later = realm.http.get("/api/v1/messages", params={"since": since}, headers=b.headers)
    assert [m["payload"]["i"] for m in later.json()["messages"]] == [4]
    assert first["payload"]["i"] == 1
    bad = realm.http.get("/api/v1/messages?since=yesterday", headers=b.headers)
    assert bad.status_code == 400


def test_concurrent_polls_never_share_a_message(realm):
    a, b = realm.session(), realm.session()
    total = 60
    for i in range(total):
        assert realm.send(a, b, payload={"i": i}).status_code == 200
    seen: list[int] = []
    lock = threading.Lock()

    def poller():
        import httpx

        with httpx.Client(base_url=str(realm.http.base_url), timeout=10) as c:
            for _ in range(30):
                got = c.get("/api/v1/messages?limit=3", headers=b.headers).json()["messages"]
                with lock:
                    seen.extend(m["payload"]["i"] for m in got)

    threads = [threading.Thread(target=poller) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(total))


def test_reply_to_takes_any_message_id(realm):
    a, b = realm.session(), realm.session()
    ids = ["msg_01HX9J2N3PQRSTVWXYZ", "msg_01HX...", "anything", "m" * 128]
    for reply_to in ids:
        r = realm.send(a, b, "response", {"ok": True}, reply_to=reply_to)
        assert r.status_code == 200, (reply_to[:20], r.text)
    got = realm.http.get("/api/v1/messages", headers=b.headers).json()["messages"]
    assert [m["reply_to"] for m in got] == ids
    assert realm.send(a, b, "response", reply_to="m" * 129).status_code == 400
