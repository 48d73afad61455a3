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


def test_session_operations_without_a_session_are_400(realm):
    r = realm.http.get("/api/v1/messages", headers=realm.headers)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "session_required"
