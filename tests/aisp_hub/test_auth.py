"""Authentication: API keys, acting sessions, EdDSA JWTs."""

from __future__ import annotations

import time

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.aisp_hub.conftest import make_token


def test_missing_and_bad_credentials_are_401(realm):
    for headers in [{}, {"X-AISP-Key": "aisp_key_nope"}, {"Authorization": "Bearer abc.def"}]:
        r = realm.http.get("/api/v1/sessions", headers=headers)
        assert r.status_code == 401, headers
        assert r.json()["error"]["code"] == "unauthorized"


def test_revoked_key_stops_working(realm):
    from agentyard.core import keys
    from agentyard.core.store import connection

    assert realm.http.get("/api/v1/sessions", headers=realm.headers).status_code == 200
    with connection():
        assert keys.revoke("aisp-hub", realm.key[:16])
    assert realm.http.get("/api/v1/sessions", headers=realm.headers).status_code == 401


def test_bearer_token_acts_as_its_session(realm):
    s = realm.session()
    r = realm.http.get("/api/v1/sessions", headers=s.bearer())
    assert r.status_code == 200
    assert s.id in [x["id"] for x in r.json()["sessions"]]
    assert realm.http.get("/api/v1/messages", headers=s.bearer()).status_code == 200


def test_bearer_token_rules(realm):
    s = realm.session()
    now = int(time.time())
    expired = jwt.encode({"sub": s.id, "exp": now - 10}, s.private_key, algorithm="EdDSA")
    no_exp = jwt.encode({"sub": s.id}, s.private_key, algorithm="EdDSA")
    too_long = make_token(s.private_key, s.id, ttl=24 * 3600)
    wrong_key = make_token(Ed25519PrivateKey.generate(), s.id)
    hs256 = jwt.encode({"sub": s.id, "exp": now + 60}, "secret" * 8, algorithm="HS256")
    unknown = make_token(s.private_key, "sess_01HX9J2N3PQRSTVWXYZ0123456")
    for token in [expired, no_exp, too_long, wrong_key, hs256, unknown]:
        r = realm.http.get("/api/v1/messages", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token


def test_acting_session_must_belong_to_the_key(make_realm):
    realm = make_realm()
    s = realm.session()
    other_key = realm.another_key()
    r = realm.http.get(
        "/api/v1/messages", headers={"X-AISP-Key": other_key, "X-AISP-Session": s.id}
    )
    assert r.status_code == 401
    assert realm.http.get("/api/v1/messages", headers=s.headers).status_code == 200


def test_key_without_an_active_session_is_409_session_required(realm):
    # Was 400 (any key-only call to a session operation); issue 10 makes a key act as its
    # session, and a key with no session to act as is a state conflict (409), not a bad request.
    r = realm.http.get("/api/v1/messages", headers=realm.headers)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "session_required"
    assert "register one" in r.json()["error"]["message"]


def key_only_envelope(realm, sender, to, **extra):
    return {
        "aisp": "0.1",
        "from": sender.id,
        "to": to.id,
        "realm": realm.name,
        "category": "inform",
        "payload": {},
        **extra,
    }


def test_key_alone_acts_as_the_one_session_it_registered(make_realm):
    """The seed's key-only calls: messages, inbox, memory, grants, ping act as the key's session."""
    realm = make_realm()
    me = realm.session()
    peer_realm_key = realm.another_key()  # a second key with its own session: the peer
    peer = realm.session_with_key(peer_realm_key)
    key = realm.headers  # X-AISP-Key only

    r = realm.http.post("/api/v1/messages", headers=key, json=key_only_envelope(realm, me, peer))
    assert r.status_code == 200, r.text
    inbox = realm.http.get("/api/v1/messages", headers={"X-AISP-Key": peer_realm_key}).json()
    assert [m["from"] for m in inbox["messages"]] == [me.id]
    realm.send(peer, me, payload={"hi": 1})
    got = realm.http.get("/api/v1/messages", headers=key)
    assert got.status_code == 200 and got.json()["messages"][0]["payload"] == {"hi": 1}

    written = realm.http.post(
        "/api/v1/memory", headers=key, json={"entries": [{"key": "solo.name", "value": "x"}]}
    )
    assert written.status_code == 200, written.text
    entries = realm.http.get("/api/v1/memory", headers=key).json()["entries"]
    assert [(e["key"], e["owner"]) for e in entries] == [("solo.name", me.id)]

    asked = realm.http.post(
        "/api/v1/grants",
        headers=key,
        json={"to": peer.id, "capability": "memory.read", "namespace": "*"},
    )
    assert asked.status_code == 200, asked.text
    listed = realm.http.get("/api/v1/grants", headers=key).json()["grants"]
    assert [(g["from"], g["to"]) for g in listed] == [(me.id, peer.id)]
    assert realm.http.delete(f"/api/v1/grants/{listed[0]['id']}", headers=key).status_code == 200

    # nobody answers this ping: it is sent as `me` and times out (408), not refused
    r = realm.http.post(f"/api/v1/sessions/{peer.id}/ping", headers=key, json={})
    assert r.status_code == 408
    pings = realm.http.get(
        "/api/v1/messages", params={"category": "ping"}, headers={"X-AISP-Key": peer_realm_key}
    ).json()["messages"]
    assert [m["from"] for m in pings] == [me.id]
    assert realm.http.get(f"/api/v1/sessions/{me.id}", headers=key).json()["last_seen"]


def test_key_with_several_sessions_must_choose(realm):
    a, b = realm.session(), realm.session()
    r = realm.http.get("/api/v1/messages", headers=realm.headers)
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "session_ambiguous"
    assert "X-AISP-Session" in error["message"] and "several" in error["message"]
    for path in ("/api/v1/memory", "/api/v1/grants"):
        assert realm.http.get(path, headers=realm.headers).status_code == 409, path
    # X-AISP-Session stays the explicit chooser
    assert realm.http.get("/api/v1/messages", headers=a.headers).status_code == 200
    # POST /messages: the envelope's `from` chooses among the key's sessions
    for sender, to in ((a, b), (b, a)):
        body = key_only_envelope(realm, sender, to, payload={"by": sender.name})
        r = realm.http.post("/api/v1/messages", headers=realm.headers, json=body)
        assert r.status_code == 200, r.text
        got = realm.http.get("/api/v1/messages", headers=to.headers).json()["messages"]
        assert [(m["from"], m["payload"]) for m in got] == [(sender.id, {"by": sender.name})]
    # the session operations need no session
    assert realm.http.get("/api/v1/sessions", headers=realm.headers).status_code == 200
    # once one is deregistered, the key acts as the other again
    assert realm.http.delete(f"/api/v1/sessions/{b.id}", headers=realm.headers).status_code == 200
    r = realm.http.post(
        "/api/v1/memory",
        headers=realm.headers,
        json={"entries": [{"key": "left.over", "value": 1}]},
    )
    assert r.status_code == 200
    owner = realm.http.get("/api/v1/memory", headers=a.headers).json()["entries"][0]["owner"]
    assert owner == a.id


def test_from_must_be_a_session_the_caller_may_send_as(realm):
    a, b = realm.session(), realm.session()
    stranger = realm.session_with_key(realm.another_key())
    cases = [
        (realm.headers, stranger, "is not an active session this API key registered"),
        (realm.headers, realm.unknown_session(), "is not an active session this API key"),
        (a.headers, b, "must be the calling session"),  # X-AISP-Session chose a
        (a.bearer(), b, "must be the calling session"),
    ]
    for headers, sender, message in cases:
        body = key_only_envelope(realm, sender, stranger)
        r = realm.http.post("/api/v1/messages", headers=headers, json=body)
        assert r.status_code == 403, (sender, r.text)
        assert r.json()["error"]["code"] == "sender_not_allowed"
        assert message in r.json()["error"]["message"]
    inbox = realm.http.get("/api/v1/messages", headers=stranger.headers).json()
    assert inbox["unread_count"] == 0


def test_key_alone_streams_as_its_session(realm):
    from tests.aisp_hub.conftest import SseReader

    me, other = realm.session(), realm.session_with_key(realm.another_key())
    with realm.http.stream(
        "GET",
        "/api/v1/messages/stream",
        headers={**realm.headers, "Accept": "text/event-stream"},
    ) as response:
        assert response.status_code == 200
        reader = SseReader(response)
        reader.wait_open()
        realm.send(other, me, payload={"live": True})
        assert reader.next_event()["data"]["payload"] == {"live": True}
