# ruff: noqa: F811 - the fixtures come from tests.hyphen.gateway_kit
"""The gateway over HTTP: signup (secrets shown once, duplicate email, rate limit), the
management routes under `mt-hyp-` (account, orgs, keys, usage), tenancy between accounts,
and that management tokens and org keys each open only their own routes."""

from __future__ import annotations

import dataclasses

from agentyard.core import runtime
from tests.hyphen.conftest import error
from tests.hyphen.gateway_kit import account, key_client, signup  # noqa: F401

FIELDS = [{"name": "a", "type": "text"}]


def test_signup_gives_a_management_token_and_a_working_full_key(server, account) -> None:
    body = account.body
    assert body["management_token"].startswith("mt-hyp-")
    assert body["api_key"]["key"].startswith("sk-hyp-")
    assert body["api_key"]["permissions"] == "full"
    assert body["org"]["name"] == "default"
    # the org key works on the engine, for the new org
    r = account.engine.post(
        "/custom-tables", json={"name": "t1", "fields": [{"name": "a", "type": "text"}]}
    )
    assert r.status_code == 201, r.text
    # the account sees its org and key, without secrets
    me = account.manage.get("/gateway/account").json()
    assert me["email"] == body["account"]["email"] and me["org_count"] == 1
    keys = account.manage.get(f"/gateway/orgs/{account.org_id}/keys").json()
    assert [k["id"] for k in keys["keys"]] == [body["api_key"]["id"]]
    assert "key" not in keys["keys"][0]


def test_a_taken_email_is_409_and_changes_nothing(server, account) -> None:
    email = account.body["account"]["email"].upper()
    r = account.manage.post(server + "/hyphen/gateway/signup", json={"email": email, "name": "Bob"})
    error(r, 409)


def test_signup_input_is_checked(anon) -> None:
    error(anon.post("/gateway/signup", json={"email": "nope", "name": "x"}), 400)
    error(anon.post("/gateway/signup", json={"email": "a@b.co"}), 400)


def test_signup_is_rate_limited_per_client(server, anon, monkeypatch) -> None:
    current = runtime.current()
    monkeypatch.setattr(
        current, "settings", dataclasses.replace(current.settings, hyphen_signups_per_minute=1)
    )
    statuses = [
        anon.post("/gateway/signup", json={"email": f"r{i}@example.com", "name": "R"}).status_code
        for i in range(3)
    ]
    assert statuses.count(429) >= 1, statuses


def test_tokens_and_keys_open_only_their_own_routes(account) -> None:
    mt = account.body["management_token"]
    error(account.engine.get("/gateway/account"), 401)
    error(account.manage.get("/org-config"), 401)
    error(
        account.manage.get("/gateway/account", headers={"Authorization": "Bearer " + mt + "0"}), 401
    )


def test_orgs_are_per_account_and_foreign_ones_404(server, account) -> None:
    r = account.manage.post("/gateway/orgs", json={"name": "acme"})
    assert r.status_code == 201, r.text
    acme = r.json()
    error(account.manage.post("/gateway/orgs", json={"name": "acme"}), 409)
    names = [o["name"] for o in account.manage.get("/gateway/orgs").json()["orgs"]]
    assert names == ["default", "acme"]
    # another account may have its own "acme" and cannot see this one
    other = signup(server)
    assert other.manage.post("/gateway/orgs", json={"name": "acme"}).status_code == 201
    error(other.manage.get(f"/gateway/orgs/{acme['id']}/keys"), 404)
    error(other.manage.post(f"/gateway/orgs/{acme['id']}/keys", json={}), 404)
    error(other.manage.get(f"/gateway/orgs/{acme['id']}/usage"), 404)
    # a key of the new org acts for that org only
    created = account.manage.post(f"/gateway/orgs/{acme['id']}/keys", json={"label": "ci"})
    assert created.status_code == 201
    with key_client(server, created.json()["key"]) as acme_key:
        made = acme_key.post("/custom-tables", json={"name": "only_acme", "fields": FIELDS})
        assert made.status_code == 201, made.text
        assert acme_key.get("/custom-tables/only_acme").status_code == 200
    error(account.engine.get("/custom-tables/only_acme"), 404)


def test_usage_counts_requests_and_runs_per_key(server, account) -> None:
    wf = account.engine.post(
        "/workflows",
        json={
            "name": "u",
            "definition": {
                "actions": [
                    {
                        "type": "matcher",
                        "properties": {
                            "left": "@input.a",
                            "right": "@input.b",
                            "matchOn": ["id"],
                        },
                    }
                ]
            },
        },
    )
    assert wf.status_code == 201, wf.text
    run = account.engine.post(
        f"/workflows/{wf.json()['id']}/execute", json={"input": {"a": [], "b": []}}
    )
    assert run.status_code == 202, run.text
    account.engine.get("/org-config")
    usage = account.manage.get(f"/gateway/orgs/{account.org_id}/usage").json()
    (row,) = usage["usage"]
    assert row["key_id"] == account.body["api_key"]["id"]
    assert row["requests"] == 3 and row["runs"] == 1
    assert usage["totals"] == {"requests": 3, "runs": 1}
    r = account.manage.get(
        f"/gateway/orgs/{account.org_id}/usage",
        params={"since": "2030-01-02", "until": "2030-01-01"},
    )
    error(r, 400)


def test_revoking_the_management_token_stops_it(account) -> None:
    from agentyard.core import keys
    from agentyard.core.store import connection
    from agentyard.hyphen.gateway import MANAGEMENT_KIND

    assert account.manage.get("/gateway/orgs").status_code == 200
    with connection():
        key = keys.lookup("hyphen", account.body["management_token"], kind=MANAGEMENT_KIND)
        assert key is not None
        keys.revoke("hyphen", key.id)
    error(account.manage.get("/gateway/orgs"), 401)


def test_regenerating_the_token_revokes_the_old_one(server, account) -> None:
    r = account.manage.post("/gateway/account/regenerate-token")
    assert r.status_code == 200, r.text
    fresh = r.json()["management_token"]
    assert fresh.startswith("mt-hyp-") and fresh != account.body["management_token"]
    error(account.manage.get("/gateway/account"), 401)
    with key_client(server, fresh) as manage:
        assert manage.get("/gateway/account").json()["id"] == account.body["account"]["id"]


def test_orgs_can_be_renamed_within_the_account(server, account) -> None:
    acme = account.manage.post("/gateway/orgs", json={"name": "acme"}).json()
    error(account.manage.put(f"/gateway/orgs/{acme['id']}", json={"name": "default"}), 409)
    r = account.manage.put(f"/gateway/orgs/{acme['id']}", json={"name": "acme2"})
    assert r.status_code == 200 and r.json() == {**acme, "name": "acme2"}
    other = signup(server)
    error(other.manage.put(f"/gateway/orgs/{acme['id']}", json={"name": "x"}), 404)


def test_keys_can_be_revoked_and_rotated(server, account) -> None:
    org = account.org_id
    made = account.manage.post(f"/gateway/orgs/{org}/keys", json={"permissions": "read_only"})
    made = made.json()
    with key_client(server, made["key"]) as old:
        assert old.get("/org-config").status_code == 200
        r = account.manage.post(f"/gateway/orgs/{org}/keys/{made['id']}/rotate")
        assert r.status_code == 201, r.text
        new = r.json()
        assert new["permissions"] == "read_only" and new["key"] != made["key"]
        error(old.get("/org-config"), 401)
    error(account.manage.post(f"/gateway/orgs/{org}/keys/{made['id']}/rotate"), 404)
    with key_client(server, new["key"]) as rotated:
        assert rotated.get("/org-config").status_code == 200
        r = account.manage.delete(f"/gateway/orgs/{org}/keys/{new['id']}")
        assert r.status_code == 200 and r.json()["revoked"] is True
        error(rotated.get("/org-config"), 401)
    error(account.manage.delete(f"/gateway/orgs/{org}/keys/{new['id']}"), 404)
    other = signup(server)
    first = account.body["api_key"]["id"]
    error(other.manage.delete(f"/gateway/orgs/{org}/keys/{first}"), 404)
    assert account.engine.get("/org-config").status_code == 200


def test_a_count_for_a_vanished_org_does_not_hold_back_the_others(server) -> None:
    import datetime as dt

    from agentyard.core.store import connection
    from agentyard.hyphen import usage
    from tests.hyphen.conftest import org_id
    from tests.kit.tenants import make_key

    key = make_key("hyphen")
    org = org_id(key)
    usage.record_request("key-of-a-deleted-org", "ten_deleted")  # its org row is gone
    usage.record_request(key.id, org)
    today = dt.datetime.now(dt.UTC).date()
    with connection():
        rows = usage.report(org, today - dt.timedelta(days=1), today + dt.timedelta(days=1))
    assert [(r["key_id"], r["requests"]) for r in rows] == [(key.id, 1)]
