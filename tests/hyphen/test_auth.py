"""Gateway keys (`sk-hyp-`), direct engine mode (`X-Org-Id`, off by default), the error
shape on auth failures, and tenancy (another org's objects are 404)."""

from __future__ import annotations

import dataclasses

from agentyard.core import runtime
from tests.hyphen.conftest import error

TABLE = {"name": "t_auth", "fields": [{"name": "a", "type": "text"}]}


def test_missing_and_unknown_keys_are_401(anon) -> None:
    error(anon.get("/org-config"), 401)
    error(anon.get("/org-config", headers={"Authorization": "Bearer sk-hyp-" + "0" * 32}), 401)
    error(anon.get("/org-config", headers={"Authorization": "Bearer dk-" + "0" * 32}), 401)


def test_a_key_revoked_stops_working(http, org) -> None:
    from agentyard.core import keys
    from agentyard.core.store import connection

    assert http.get("/org-config").status_code == 200
    with connection():
        keys.revoke("hyphen", org.id)
    error(http.get("/org-config"), 401)


def test_direct_engine_mode_is_off_by_default(anon, org) -> None:
    body = error(anon.get("/org-config", headers={"X-Org-Id": org.tenant}), 401)
    assert "disabled" in body["message"]


def test_direct_engine_mode_names_the_org_when_enabled(anon, http, org, monkeypatch) -> None:
    current = runtime.current()
    monkeypatch.setattr(
        current, "settings", dataclasses.replace(current.settings, hyphen_direct_engine_mode=True)
    )
    assert http.post("/custom-tables", json=TABLE).status_code == 201
    r = anon.get("/custom-tables/t_auth", headers={"X-Org-Id": org.tenant})
    assert r.status_code == 200, r.text
    error(anon.get("/custom-tables/t_auth", headers={"X-Org-Id": "no-such-org-x"}), 401)


def test_another_orgs_objects_are_not_found(http, other) -> None:
    assert http.post("/custom-tables", json=TABLE).status_code == 201
    error(other.get("/custom-tables/t_auth"), 404)
    error(other.post("/custom-tables/t_auth/insert", json={"a": "x"}), 404)
    error(other.delete("/custom-tables/t_auth"), 404)
    hook = http.post("/webhooks", json={"event": "*", "url": "https://example.com/h"}).json()
    error(other.get(f"/webhooks/{hook['id']}"), 404)
    error(other.patch(f"/webhooks/{hook['id']}", json={"active": False}), 404)
    error(other.delete(f"/webhooks/{hook['id']}"), 404)
    schema = http.post("/schemas", json={"schema": {"type": "object"}}).json()
    error(other.get(f"/schemas/{schema['id']}"), 404)
    # and the other org may use the same names without clashing
    assert other.post("/custom-tables", json=TABLE).status_code == 201


def test_malformed_input_is_a_400_in_hyphen_shape(http) -> None:
    r = http.post(
        "/custom-tables",
        content=b'{"name": "x", "name": "y"}',
        headers={"content-type": "application/json"},
    )
    body = error(r, 400)
    assert body["error"] == "Validation failed"
    error(http.get("/custom-tables/t1/rows", params={"bogus": "1"}), 400)
