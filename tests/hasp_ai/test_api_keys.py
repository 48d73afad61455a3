"""/v1/api_keys: shown once, stored hashed, scoped, paged, revoked at once; org-scoped."""

from __future__ import annotations

import hashlib

from agentyard.core.keys import ApiKey
from agentyard.core.store import connection


def create(org, name="ci", scopes=("ai:chat",), key=None):
    headers = {"x-api-key": key} if key else org.headers
    return org.http.post(
        "/v1/api_keys", headers=headers, json={"name": name, "scopes": list(scopes)}
    )


def test_create_shows_the_secret_once_and_stores_its_digest(org):
    r = create(org, scopes=["ai:chat", "control:read"])
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    secret = data["plaintext"]
    assert secret.startswith("wa_live_") and len(secret) == len("wa_live_") + 32
    assert data["prefix"] == secret[:16] and data["last_four"] == secret[-4:]
    assert data["scopes"] == ["ai:chat", "control:read"] and data["revoked_at"] is None
    with connection():
        row = ApiKey.get_by_id(data["id"])
    assert row.digest == hashlib.sha256(secret.encode()).hexdigest()
    listed = org.http.get("/v1/api_keys", headers=org.headers).json()["data"]
    assert data["id"] in [k["id"] for k in listed]
    assert all("plaintext" not in k for k in listed)
    # The new key works, as Bearer and as x-api-key, within its scopes.
    assert (
        org.http.get("/v1/usage", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    )
    assert org.http.get("/v1/webhooks", headers={"x-api-key": secret}).status_code == 403


def test_missing_scope_is_403_with_the_required_scope(org):
    reader = org.key_with("control:read")
    r = create(org, key=reader)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "MISSING_SCOPE"
    assert r.json()["error"]["details"]["required_scope"] == "control:admin"
    # An admin key may not grant a scope it lacks.
    admin = org.key_with("control:admin")
    r = create(org, key=admin, scopes=["control:webhooks"])
    assert (
        r.status_code == 403
        and r.json()["error"]["details"]["required_scope"] == "control:webhooks"
    )


def test_revocation_is_immediate(org):
    data = create(org, scopes=["control:read"]).json()["data"]
    secret = data["plaintext"]
    assert org.http.get("/v1/usage", headers={"x-api-key": secret}).status_code == 200
    r = org.http.delete(f"/v1/api_keys/{data['id']}", headers=org.headers)
    assert r.status_code == 200 and r.json()["data"]["revoked_at"] is not None
    denied = org.http.get("/v1/usage", headers={"x-api-key": secret})
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "INVALID_API_KEY"
    again = org.http.delete(f"/v1/api_keys/{data['id']}", headers=org.headers)
    assert again.json()["data"]["revoked_at"] == r.json()["data"]["revoked_at"]
    failures = org.http.get(
        "/v1/audit", headers=org.headers, params={"action": "auth.failed"}
    ).json()["data"]
    assert failures and failures[0]["entity_id"] == data["id"]


def test_cursor_paging_is_complete_and_stable(org):
    made = {create(org, name=f"k{i}").json()["data"]["id"] for i in range(7)}
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = org.http.get("/v1/api_keys", headers=org.headers, params=params).json()
        seen += [k["id"] for k in page["data"]]
        if not page["meta"]["has_more"]:
            assert page["meta"]["next_cursor"] is None
            break
        cursor = page["meta"]["next_cursor"]
    assert made <= set(seen) and len(seen) == len(set(seen)) == 8  # + the fixture's key
    bad = org.http.get("/v1/api_keys", headers=org.headers, params={"cursor": "!!"})
    assert bad.status_code == 422  # a control endpoint: HASP's 422 VALIDATION_FAILED (issue 10)
    assert bad.json()["error"]["code"] == "VALIDATION_FAILED"


def test_another_orgs_key_is_not_visible_or_revocable(org, other_org):
    theirs = create(other_org).json()["data"]
    r = org.http.delete(f"/v1/api_keys/{theirs['id']}", headers=org.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "RESOURCE_NOT_FOUND"
    mine = org.http.get("/v1/api_keys", headers=org.headers).json()["data"]
    assert theirs["id"] not in [k["id"] for k in mine]
    assert (
        other_org.http.get("/v1/usage", headers={"x-api-key": theirs["plaintext"]}).status_code
        == 403
    )
