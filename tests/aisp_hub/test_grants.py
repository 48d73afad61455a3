"""Grants: request, approve/deny (extensions), list by direction, revoke, expiry."""

from __future__ import annotations

import datetime as dt

G = "/api/v1/grants"
MISSING = "sess_01HX9J2N3PQRSTVWXYZ0123456"


def request(realm, holder, body):
    return realm.http.post(G, headers=holder.headers, json=body)


def test_request_lands_in_target_inbox_and_lists_by_direction(realm):
    a, b = realm.session(), realm.session()
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    r = request(
        realm,
        a,
        {
            "to": b.id,
            "capability": "memory.read",
            "namespace": "project.*",
            "expires_at": expires,
            "reason": "Need context.",
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["grant_id"].startswith("grant_") and body["status"] == "pending"
    assert body["to"] == b.id and body["capability"] == "memory.read"
    inbox = realm.http.get("/api/v1/messages", headers=b.headers).json()["messages"]
    assert inbox[0]["category"] == "grant.request"
    assert inbox[0]["payload"]["grant"]["id"] == body["grant_id"]
    outgoing = realm.http.get(G, params={"direction": "outgoing"}, headers=a.headers).json()
    incoming = realm.http.get(G, params={"direction": "incoming"}, headers=b.headers).json()
    assert [g["id"] for g in outgoing["grants"]] == [body["grant_id"]]
    assert [g["id"] for g in incoming["grants"]] == [body["grant_id"]]
    assert realm.http.get(G, params={"direction": "incoming"}, headers=a.headers).json() == {
        "grants": []
    }
    g = incoming["grants"][0]
    assert g["from"] == a.id and g["to"] == b.id and g["namespace"] == "project.*"
    assert g["reason"] == "Need context."


def test_request_errors(realm):
    a, b = realm.session(), realm.session()
    cases = [
        ({"to": b.id, "capability": "memory.fly", "namespace": "x"}, 400),
        ({"to": b.id, "capability": "memory.read"}, 400),  # memory grants need a namespace
        ({"to": b.id, "capability": "memory.read", "namespace": "bad pattern"}, 400),
        ({"to": b.id, "capability": "memory.read", "namespace": "a.*.b"}, 400),
        ({"to": b.id, "capability": "delegate.receive", "namespace": "x.y"}, 400),
        ({"to": a.id, "capability": "memory.read", "namespace": "*"}, 400),
        ({"to": MISSING, "capability": "memory.read", "namespace": "*"}, 404),
    ]
    for body, status in cases:
        r = request(realm, a, body)
        assert r.status_code == status, (body, r.text)
    ok = {"to": b.id, "capability": "memory.read", "namespace": "*"}
    assert request(realm, a, ok).status_code == 200
    dup = request(realm, a, ok)
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "grant_pending"


def test_only_the_grantor_approves_or_denies(realm):
    a, b, c = realm.session(), realm.session(), realm.session()
    gid = request(realm, a, {"to": b.id, "capability": "memory.read", "namespace": "*"}).json()[
        "grant_id"
    ]
    for s in (a, c):
        assert realm.http.post(f"{G}/{gid}/approve", headers=s.headers).status_code == 403
    r = realm.http.post(f"{G}/{gid}/approve", headers=b.headers)
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert realm.http.post(f"{G}/{gid}/approve", headers=b.headers).status_code == 409
    notices = realm.http.get("/api/v1/messages?category=grant.approved", headers=a.headers)
    assert notices.json()["messages"][0]["payload"]["grant"]["id"] == gid
    gid2 = request(realm, a, {"to": b.id, "capability": "memory.write", "namespace": "*"}).json()[
        "grant_id"
    ]
    r = realm.http.post(f"{G}/{gid2}/deny", headers=b.headers)
    assert r.status_code == 200 and r.json()["status"] == "denied"
    listed = [g["id"] for g in realm.http.get(G, headers=a.headers).json()["grants"]]
    assert listed == [gid]


def test_revoke_by_either_party_only(realm):
    a, b, c = realm.session(), realm.session(), realm.session()
    gid = realm.grant(a, b, "memory.read", "*")
    r = realm.http.delete(f"{G}/{gid}", headers=c.headers)
    assert r.status_code == 403
    assert r.json()["error"]["message"] == "Only the issuer or recipient may revoke"
    r = realm.http.delete(f"{G}/{gid}", headers=a.headers)
    assert r.json() == {"revoked": True, "grant_id": gid}
    assert realm.http.delete(f"{G}/{gid}", headers=b.headers).status_code == 409
    assert realm.http.get(G, headers=a.headers).json() == {"grants": []}
    revoked = realm.http.get("/api/v1/messages?category=grant.revoked", headers=b.headers)
    assert revoked.json()["messages"][0]["payload"]["grant"]["status"] == "revoked"
    gid2 = realm.grant(a, b, "memory.read", "*")
    assert realm.http.delete(f"{G}/{gid2}", headers=b.headers).status_code == 200


def test_unknown_or_foreign_grant_is_404(make_realm):
    realm, other = make_realm(), make_realm()
    a, b = realm.session(), realm.session()
    x = other.session()
    gid = realm.grant(a, b, "memory.read", "*")
    fake = "grant_01HX9J2N3PQRSTVWXYZ0123456"
    assert realm.http.delete(f"{G}/{fake}", headers=a.headers).status_code == 404
    assert other.http.delete(f"{G}/{gid}", headers=x.headers).status_code == 404
    assert other.http.post(f"{G}/{gid}/approve", headers=x.headers).status_code == 404


def test_expired_grants_are_inactive(realm):
    from agentyard.aisp.models import Grant
    from agentyard.core import clock
    from agentyard.core.store import connection

    owner, reader = realm.session(), realm.session()
    realm.http.post(
        "/api/v1/memory", headers=owner.headers, json={"entries": [{"key": "doc.a", "value": 1}]}
    )
    gid = realm.grant(reader, owner, "memory.read", "doc.*")
    ok = realm.http.get("/api/v1/memory?namespace=doc", headers=reader.headers)
    assert ok.status_code == 200
    with connection():
        Grant.update(expires_at=clock.now() - dt.timedelta(seconds=1)).where(
            Grant.id == gid
        ).execute()
    assert realm.http.get("/api/v1/memory?namespace=doc", headers=reader.headers).status_code == 403
    assert realm.http.get(G, headers=reader.headers).json() == {"grants": []}
    assert realm.http.delete(f"{G}/{gid}", headers=reader.headers).status_code == 409


def test_a_grant_requested_with_a_past_expiry_is_expired_at_once(realm):
    """An `expires_at` in the past was 400 although the schema allows it (issue 10: schema-valid
    requests are accepted); the grant is recorded `expired` and never reaches the target."""
    a, b = realm.session(), realm.session()
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    body = {"to": b.id, "capability": "memory.read", "namespace": "*", "expires_at": past}
    r = request(realm, a, body)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "expired"
    gid = r.json()["grant_id"]
    assert realm.http.get("/api/v1/messages", headers=b.headers).json()["unread_count"] == 0
    assert realm.http.get(G, headers=a.headers).json() == {"grants": []}
    assert realm.http.post(f"{G}/{gid}/approve", headers=b.headers).status_code == 409
    assert realm.http.get("/api/v1/memory", headers=a.headers).json() == {"entries": []}


def test_a_grant_id_that_names_nothing_is_404_whatever_its_shape(realm):
    a = realm.session()
    for odd in ("grant_01HX9J2N3PQRSTVWXYZ", "grant_01HX...", "g", "日本", "x" * 128):
        for method, path in (
            ("DELETE", f"{G}/{odd}"),
            ("POST", f"{G}/{odd}/approve"),
            ("POST", f"{G}/{odd}/deny"),
        ):
            r = realm.http.request(method, path, headers=a.headers)
            assert r.status_code == 404, (method, odd, r.text)
            assert r.json()["error"]["code"] == "grant_not_found"
    assert realm.http.delete(f"{G}/{'x' * 129}", headers=a.headers).status_code == 400
    r = realm.http.get(G, params={"after": "grant_01HX..."}, headers=a.headers)
    assert r.status_code == 200
    for to in ("sess_02HX9J2N3PQRSTVWXYZ", "sess_02HX...", "b"):
        r = request(realm, a, {"to": to, "capability": "memory.read", "namespace": "*"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "session_not_found", to
