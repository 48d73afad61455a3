"""Sessions: register, list, get, deregister — with their documented errors."""

from __future__ import annotations

import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.aisp_hub.conftest import SEED_SESSION_ID, public_key_text


def register(hub, **fields):
    body = {"name": "agent", "kind": "interactive", "realm": hub.name, **fields}
    return hub.http.post("/api/v1/sessions", headers=hub.headers, json=body)


def test_register_returns_session_and_get_shows_details(realm):
    key = public_key_text(Ed25519PrivateKey.generate())
    r = register(realm, name="my-agent", capabilities=["memory.read"], public_key=key)
    assert r.status_code == 200
    body = r.json()
    assert body["id"].startswith("sess_") and len(body["id"]) == 31
    assert body["status"] == "active" and body["realm"] == realm.name
    assert body["created_at"].endswith("Z")
    got = realm.http.get(f"/api/v1/sessions/{body['id']}", headers=realm.headers).json()
    assert got["capabilities"] == ["memory.read"]
    assert got["public_key"] == key
    assert got["name"] == "my-agent"


def test_name_taken_in_realm_is_409_but_free_after_deregister_and_in_other_realm(make_realm):
    realm, other = make_realm(), make_realm()
    first = register(realm, name="dup").json()
    r = register(realm, name="dup")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "session_name_taken"
    assert register(other, name="dup").status_code == 200
    realm.http.delete(f"/api/v1/sessions/{first['id']}", headers=realm.headers)
    assert register(realm, name="dup").status_code == 200


def test_register_validates_body(realm):
    cases = [
        {"kind": "wizard"},
        {"capabilities": ["teleport"]},
        {"capabilities": ["memory.read", "memory.read"]},
        {"name": ""},
        {"realm": "Not A Realm"},
        {"public_key": "ed25519:AAAA"},
        {"public_key": "rsa:MIIB"},
        {"unexpected": 1},
    ]
    for fields in cases:
        r = register(realm, **fields)
        assert r.status_code == 400, (fields, r.text)
        assert set(r.json()["error"]) >= {"code", "message"}
    assert realm.http.get("/api/v1/sessions", headers=realm.headers).json()["total"] == 0


def test_register_rejects_a_non_ed25519_key(realm):
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    der = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    r = register(realm, public_key="ed25519:" + base64.b64encode(der).decode())
    assert r.status_code == 400
    # The published pattern now refuses it (issue 10), so schema validation answers, with its
    # code `invalid_request` (it was `invalid_public_key`, from the hub's own DER check).
    assert r.json()["error"]["code"] == "invalid_request"
    assert "public_key" in r.json()["error"]["message"]


def test_register_in_another_realm_is_403(realm):
    r = register(realm, realm="someone-else")
    assert r.status_code == 403
    assert r.json()["error"]["message"] == "Realm access denied"


def test_list_filters_by_kind_and_status_and_pages(realm):
    a = realm.session(kind="interactive")
    b = realm.session(kind="executor")
    c = realm.session(kind="executor")
    realm.http.delete(f"/api/v1/sessions/{c.id}", headers=realm.headers)
    listed = realm.http.get("/api/v1/sessions", headers=realm.headers).json()
    assert [s["id"] for s in listed["sessions"]] == [a.id, b.id]
    assert {s["realm"] for s in listed["sessions"]} == {realm.name}
    assert listed["total"] == 2
    execs = realm.http.get("/api/v1/sessions?kind=executor", headers=realm.headers).json()
    assert [s["id"] for s in execs["sessions"]] == [b.id]
    gone = realm.http.get("/api/v1/sessions?status=deregistered", headers=realm.headers).json()
    assert [s["id"] for s in gone["sessions"]] == [c.id]
    page = realm.http.get("/api/v1/sessions?limit=1", headers=realm.headers).json()
    assert [s["id"] for s in page["sessions"]] == [a.id] and page["total"] == 2
    nxt = realm.http.get(f"/api/v1/sessions?limit=1&after={a.id}", headers=realm.headers).json()
    assert [s["id"] for s in nxt["sessions"]] == [b.id]
    assert realm.http.get("/api/v1/sessions?kind=bogus", headers=realm.headers).status_code == 400


def test_list_naming_another_realm_is_403(realm):
    r = realm.http.get("/api/v1/sessions?realm=elsewhere", headers=realm.headers)
    assert r.status_code == 403
    assert r.json()["error"]["message"] == "Realm access denied"
    ok = realm.http.get(f"/api/v1/sessions?realm={realm.name}", headers=realm.headers)
    assert ok.status_code == 200


def test_realms_are_isolated(make_realm):
    realm, other = make_realm(), make_realm()
    mine = realm.session()
    theirs = other.session()
    listed = realm.http.get("/api/v1/sessions", headers=realm.headers).json()
    assert [s["id"] for s in listed["sessions"]] == [mine.id]
    r = realm.http.get(f"/api/v1/sessions/{theirs.id}", headers=realm.headers)
    assert r.status_code == 404
    r = realm.http.delete(f"/api/v1/sessions/{theirs.id}", headers=realm.headers)
    assert r.status_code == 404
    # acting as another realm's session with this realm's key is refused
    r = realm.http.get(
        "/api/v1/messages", headers={"X-AISP-Key": realm.key, "X-AISP-Session": theirs.id}
    )
    assert r.status_code == 401


def test_get_unknown_session_is_404(realm):
    r = realm.http.get("/api/v1/sessions/sess_01HX9J2N3PQRSTVWXYZ0123456", headers=realm.headers)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "session_not_found"


def test_last_seen_tracks_authenticated_calls(realm):
    s = realm.session()
    before = realm.http.get(f"/api/v1/sessions/{s.id}", headers=realm.headers).json()
    assert before["last_seen"] is None
    realm.http.get("/api/v1/messages", headers=s.headers)
    first = realm.http.get(f"/api/v1/sessions/{s.id}", headers=realm.headers).json()["last_seen"]
    assert first is not None
    time.sleep(1.1)
    realm.http.get("/api/v1/grants", headers=s.bearer())
    second = realm.http.get(f"/api/v1/sessions/{s.id}", headers=realm.headers).json()["last_seen"]
    assert second > first


def test_deregister_own_only_discards_inbox_and_kills_credentials(make_realm):
    realm = make_realm()
    a, b = realm.session(), realm.session()
    assert realm.send(a, b).status_code == 200
    r = realm.http.delete(f"/api/v1/sessions/{b.id}", headers=a.headers)
    assert r.status_code == 403
    assert r.json()["error"]["message"] == "Cannot deregister another session"
    token = b.bearer()
    r = realm.http.delete(f"/api/v1/sessions/{b.id}", headers=token)
    assert r.status_code == 200 and r.json() == {"message": "Session deregistered."}
    assert realm.http.get("/api/v1/messages", headers=token).status_code == 401
    assert realm.http.get("/api/v1/messages", headers=b.headers).status_code == 401
    assert realm.http.delete(f"/api/v1/sessions/{b.id}", headers=realm.headers).status_code == 404
    assert realm.send(a, b).status_code == 404
    from agentyard.aisp.models import Delivery
    from agentyard.core.store import connection

    with connection():
        assert Delivery.select().where(Delivery.recipient == b.id).count() == 0


def test_key_that_registered_a_session_may_deregister_it_but_another_key_may_not(make_realm):
    realm = make_realm()
    s = realm.session()
    second_key = realm.another_key()
    r = realm.http.delete(f"/api/v1/sessions/{s.id}", headers={"X-AISP-Key": second_key})
    assert r.status_code == 403
    r = realm.http.delete(f"/api/v1/sessions/{s.id}", headers=realm.headers)
    assert r.status_code == 200


ODD_IDS = [
    SEED_SESSION_ID,  # the seed's own example id: 19 characters after `sess_`
    "sess_01HX9J2N3PQRSTVWXYZ0123456",
    "x",
    "sess_lowercase_and-dashes",
    "日本語",
    "a b",
    "s" * 128,
]


def test_an_id_that_names_no_session_is_404_whatever_its_shape(realm):
    """Issue 10: path ids had to be 26-character ULIDs, so the seed's example id was 400."""
    me = realm.session()
    for odd in ODD_IDS:
        for method, path in (
            ("GET", f"/api/v1/sessions/{odd}"),
            ("DELETE", f"/api/v1/sessions/{odd}"),
            ("POST", f"/api/v1/sessions/{odd}/ping"),
        ):
            r = realm.http.request(method, path, headers=me.headers)
            assert r.status_code == 404, (method, odd, r.text)
            error = r.json()["error"]
            assert error["code"] == "session_not_found"
            assert error["message"] == f"Session not found: {odd}"
    # only the length is bounded
    r = realm.http.get(f"/api/v1/sessions/{'s' * 129}", headers=me.headers)
    assert r.status_code == 400
    # the cursor and the acting-session header take any id too
    page = realm.http.get(
        "/api/v1/sessions", params={"after": SEED_SESSION_ID}, headers=realm.headers
    )
    assert page.status_code == 200
    r = realm.http.get(
        "/api/v1/messages", headers={"X-AISP-Key": realm.key, "X-AISP-Session": SEED_SESSION_ID}
    )
    assert r.status_code == 401


def test_public_key_accepted_exactly_when_the_published_pattern_matches(realm):
    """Issue 10: the spec allowed any `ed25519:<base64>`, the hub refused what is not a DER
    Ed25519 key. Now the published pattern is the exact form the hub accepts."""
    import base64
    import os
    import re

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    spec = realm.http.get("/openapi.json").json()
    props = spec["components"]["schemas"]["SessionRegistration"]["properties"]
    pattern = props["public_key"]["pattern"]
    header = bytes.fromhex("302a300506032b6570032100")  # Ed25519 SubjectPublicKeyInfo

    def b64(raw: bytes) -> str:
        return "ed25519:" + base64.b64encode(raw).decode()

    ec_der = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    zero = b64(header + bytes(32))
    candidates = {
        public_key_text(Ed25519PrivateKey.generate()): True,
        b64(header + os.urandom(32)): True,  # any 32 bytes are an Ed25519 public key
        zero: True,
        "ed25519:AAAA": False,  # base64, not DER
        "ed25519:MCowBQYDK2VwAyEA": False,  # the header alone
        zero[:-2] + "B=": False,  # non-canonical base64 (stray bits in the last character)
        b64(header + bytes(31)): False,
        b64(header + bytes(33)): False,
        b64(ec_der): False,
        zero.replace("ed25519:", "ED25519:"): False,
    }
    for i, (text, valid) in enumerate(candidates.items()):
        assert (re.fullmatch(pattern, text) is not None) == valid, text
        r = register(realm, name=f"key-{i}", public_key=text)
        assert r.status_code == (200 if valid else 400), (text, r.text)
