"""Organizations (user keys) and apps (organization keys), as the seed documents them."""

from __future__ import annotations

import secrets

from agentyard.core.store import connection, db
from agentyard.harnesslayer import apps as apps_domain
from agentyard.harnesslayer import auth
from agentyard.harnesslayer.models import AccessGroup, App


def test_create_organization_returns_its_key_once_and_reuses_with_return_if_exist(ws):
    slug = f"acme-{secrets.token_hex(3)}"
    body = {"name": "Acme", "slug": slug}
    r = ws.http.post("/v1/organization/create", headers=ws.user_headers, json=body)
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    assert data["id"].startswith("org-") and data["role"] == "owner"
    key = data["apiKey"]
    assert key.startswith("dk-") and len(key) == 35
    # The new key works on app routes of the new organization only.
    created = ws.http.post(
        "/v1/app/create",
        headers={"Authorization": f"Bearer {key}"},
        json={"slug": "demo-app", "type": "claude", "name": "Demo App"},
    )
    assert created.status_code == 201 and created.json()["data"]["organizationId"] == data["id"]
    again = ws.http.post("/v1/organization/create", headers=ws.user_headers, json=body)
    assert again.status_code == 409
    reused = ws.http.post(
        "/v1/organization/create", headers=ws.user_headers, json={**body, "returnIfExist": True}
    )
    assert reused.status_code == 200 and reused.json()["data"]["id"] == data["id"]
    assert "apiKey" not in reused.json()["data"]


def test_organization_routes_take_user_keys_and_update_by_id_or_slug(ws, other_ws):
    r = ws.http.post(
        "/v1/organization/create", headers=ws.headers, json={"name": "x", "slug": "x-org-1"}
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    renamed = ws.http.patch(
        f"/v1/organization/{ws.org_slug}", headers=ws.user_headers, json={"name": "Renamed"}
    )
    assert renamed.status_code == 200 and renamed.json()["data"]["name"] == "Renamed"
    by_id = ws.http.patch(
        f"/v1/organization/{ws.org_id}", headers=ws.user_headers, json={"slug": ws.org_slug + "-b"}
    )
    assert by_id.json()["data"]["slug"] == ws.org_slug + "-b"
    foreign = other_ws.http.patch(
        f"/v1/organization/{ws.org_id}", headers=other_ws.user_headers, json={"name": "Mine"}
    )
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "not_found"
    empty = ws.http.patch(f"/v1/organization/{ws.org_id}", headers=ws.user_headers, json={})
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "bad_request"


def test_seed_curl_example_and_app_lookups(ws):
    r = ws.http.post(
        "/v1/app/create",
        headers={**ws.headers, "Content-Type": "application/json"},
        content='{"slug": "demo-app", "type": "claude", "name": "Demo App"}',
    )
    assert r.status_code == 201, r.text
    app = r.json()["data"]
    assert app["id"].startswith("app-") and app["slug"] == "demo-app"
    assert app["headVersionId"] is None and app["hasCredentials"] is False
    for ref in (app["id"], "demo-app"):
        got = ws.http.get(f"/v1/app/{ref}", headers=ws.headers)
        assert got.status_code == 200 and got.json()["data"] == app
    dup = ws.http.post(
        "/v1/app/create", headers=ws.headers, json={"slug": "demo-app", "type": "openclaw"}
    )
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "conflict"
    same = ws.http.post(
        "/v1/app/create",
        headers=ws.headers,
        json={"slug": "demo-app", "type": "claude", "returnIfExist": True},
    )
    assert same.status_code == 200 and same.json()["data"]["id"] == app["id"]
    bad = ws.http.post("/v1/app/create", headers=ws.headers, json={"slug": "x", "type": "gpt"})
    assert bad.status_code == 400


def test_limit_creates_the_default_group_and_credentials_stay_encrypted(ws):
    app = ws.app(
        limit={"amount": 5, "interval": "daily", "message": "Come back tomorrow"},
        credentials=[{"name": "ANTHROPIC_API_KEY", "value": "sk-secret-value"}],
    )
    assert app["defaultAccessGroupId"].startswith("ag-") and app["hasCredentials"] is True
    assert "sk-secret-value" not in str(app)
    with connection():
        group = AccessGroup.get_by_id(app["defaultAccessGroupId"])
        # The raw column, read without the field's decryption:
        cursor = db.execute_sql(
            f"SELECT credentials FROM hl_app WHERE id = {db.obj.param}", (app["id"],)
        )
        (stored,) = cursor.fetchone()
    assert group.limit == 5 and group.limit_reset == "daily" and group.is_default
    assert group.limit_message == "Come back tomorrow"
    assert "sk-secret-value" not in stored and stored.startswith("v1:")
    openclaw = ws.http.post(
        "/v1/app/create",
        headers=ws.headers,
        json={"slug": "oc", "type": "openclaw", "credentials": [{"name": "K", "value": "v"}]},
    )
    assert openclaw.status_code == 400


def test_list_pages_and_optional_app_filter(ws):
    made = [ws.app(f"list-app-{i}")["id"] for i in range(5)]
    page1 = ws.http.get("/v1/app/list", headers=ws.headers, params={"pageSize": 2}).json()["data"]
    assert page1["page"] == 1 and page1["pageSize"] == 2 and page1["total"] == 5
    assert [a["id"] for a in page1["items"]] == made[::-1][:2]  # newest first
    page3 = ws.http.get(
        "/v1/app/list", headers=ws.headers, params={"page": 3, "pageSize": 2}
    ).json()["data"]
    assert [a["id"] for a in page3["items"]] == [made[0]]
    default = ws.http.get("/v1/app/list", headers=ws.headers).json()["data"]
    assert default["pageSize"] == 10 and default["page"] == 1
    one = ws.http.get("/v1/app/list", headers=ws.headers, params={"appId": "list-app-3"})
    assert [a["id"] for a in one.json()["data"]["items"]] == [made[3]]
    for bad in ({"pageSize": 0}, {"pageSize": 101}, {"page": 0}, {"unknown": 1}):
        assert ws.http.get("/v1/app/list", headers=ws.headers, params=bad).status_code == 400


def test_update_and_delete(ws):
    app = ws.app("to-update")
    other = ws.app("taken")
    clash = ws.http.patch(f"/v1/app/{app['id']}", headers=ws.headers, json={"slug": "taken"})
    assert clash.status_code == 409
    renamed = ws.http.patch(
        "/v1/app/to-update", headers=ws.headers, json={"slug": "renamed", "name": "R"}
    )
    assert renamed.json()["data"]["slug"] == "renamed" and renamed.json()["data"]["name"] == "R"
    gone = ws.http.delete("/v1/app/renamed", headers=ws.headers)
    assert gone.status_code == 202 and gone.json()["data"] == {
        "id": app["id"],
        "status": "deleting",
    }
    assert ws.http.get(f"/v1/app/{app['id']}", headers=ws.headers).status_code == 404
    assert ws.app("renamed")["id"] != app["id"]  # the slug is free again
    with connection():
        apps_domain.delete_app_records.call_local(app["id"])
        assert App.get_or_none(App.id == app["id"]) is None
        assert App.get_or_none(App.id == other["id"]) is not None


def test_another_organizations_app_is_404(ws, other_ws):
    app = ws.app("private-app")
    for call in (
        lambda: other_ws.http.get(f"/v1/app/{app['id']}", headers=other_ws.headers),
        lambda: other_ws.http.patch(
            f"/v1/app/{app['id']}", headers=other_ws.headers, json={"name": "x"}
        ),
        lambda: other_ws.http.delete(f"/v1/app/{app['id']}", headers=other_ws.headers),
    ):
        r = call()
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    listed = other_ws.http.get("/v1/app/list", headers=other_ws.headers).json()["data"]
    assert app["id"] not in [a["id"] for a in listed["items"]]
    assert (
        ws.http.get("/v1/app/list", headers={"Authorization": "Bearer dk-" + "0" * 32}).status_code
        == 401
    )


def test_requests_per_key_are_rate_limited(ws, monkeypatch):
    from dataclasses import replace

    from agentyard.core import runtime

    monkeypatch.setattr(
        runtime.current(),
        "settings",
        replace(runtime.settings(), harnesslayer_requests_per_minute=2),
    )
    assert ws.http.get("/v1/app/list", headers=ws.headers).status_code == 200
    assert ws.http.get("/v1/app/list", headers=ws.headers).status_code == 200
    r = ws.http.get("/v1/app/list", headers=ws.headers)
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) >= 1
    # Each key has its own budget: the owner's user key is not throttled.
    assert (
        ws.http.patch(
            f"/v1/organization/{ws.org_id}", headers=ws.user_headers, json={"name": "n"}
        ).status_code
        == 200
    )


def test_an_org_key_finds_its_organization_once_per_process(ws, other_ws, monkeypatch):
    looked_up: list[str] = []
    real = auth.organization_of

    def counting(tenant):
        looked_up.append(tenant.id)
        return real(tenant)

    monkeypatch.setattr(auth, "organization_of", counting)
    auth.organization_id.cache_clear()
    with connection():
        callers = [auth.org_caller(key) for key in (ws.org_key, other_ws.org_key, ws.org_key)]
    assert [c.organization.id for c in callers] == [ws.org_id, other_ws.org_id, ws.org_id]
    assert len(looked_up) == 2  # once per organization, not once per request
    # each key still acts in its own organization only, renamed or not
    made = ws.app()
    r = ws.http.patch(
        f"/v1/organization/{ws.org_id}",
        headers=ws.user_headers,
        json={"name": "Renamed", "slug": ws.org_slug + "-r"},
    )
    assert r.status_code == 200, r.text
    mine = ws.http.get("/v1/app/list", headers=ws.headers).json()["data"]["items"]
    theirs = other_ws.http.get("/v1/app/list", headers=other_ws.headers).json()["data"]["items"]
    assert [a["id"] for a in mine] == [made["id"]] and theirs == []
