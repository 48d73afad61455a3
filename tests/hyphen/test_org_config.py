"""Org config: secrets stored encrypted with the vault, listed masked, decrypted only by
`org_config.secret()` (what the workflow engine calls at execution)."""

from __future__ import annotations

from agentyard.core.store import connection, db
from agentyard.hyphen import org_config
from tests.hyphen.conftest import error, org_id

SECRET = "sk_live_0123456789abcdefWXYZ"


def test_set_lists_masked_and_never_the_secret(http, other, org) -> None:
    r = http.post("/org-config", json={"key": "stripe", "value": SECRET})
    assert r.status_code == 201, r.text
    assert r.json()["ref"] == "orgconfig:api:stripe" and r.json()["masked_value"] == "****WXYZ"
    r = http.post("/org-config", json={"key": "orders_pg", "kind": "db", "value": "pg://short"})
    assert r.status_code == 201 and r.json()["masked_value"] == "****"
    listed = http.get("/org-config")
    assert (
        listed.status_code == 200 and SECRET not in listed.text and "pg://short" not in listed.text
    )
    assert [(e["kind"], e["key"]) for e in listed.json()["config"]] == [
        ("api", "stripe"),
        ("db", "orders_pg"),
    ]
    assert other.get("/org-config").json() == {"config": []}
    with connection():
        assert org_config.secret(org_id(org), "api", "stripe") == SECRET
        assert org_config.secret(org_id(org), "db", "orders_pg") == "pg://short"
        assert org_config.secret(org_id(org), "db", "stripe") is None
        stored = db.execute_sql("SELECT value FROM hyphen_org_config").fetchall()
    assert stored and all(SECRET not in row[0] for row in stored)


def test_setting_again_replaces_the_value(http, org) -> None:
    http.post("/org-config", json={"key": "k", "value": "first-value-123456"})
    r = http.post("/org-config", json={"key": "k", "value": "second-value-abcdef"})
    assert r.status_code == 200 and r.json()["masked_value"] == "****cdef"
    with connection():
        assert org_config.secret(org_id(org), "api", "k") == "second-value-abcdef"
    assert len(http.get("/org-config").json()["config"]) == 1


def test_bad_input_is_refused(http) -> None:
    error(http.post("/org-config", json={"key": "bad key", "value": "x"}), 400)
    error(http.post("/org-config", json={"key": "k", "value": "x", "kind": "oauth"}), 400)
    error(http.post("/org-config", json={"key": "k", "value": ""}), 400)
    assert http.get("/org-config").json() == {"config": []}


def test_refs_parse() -> None:
    assert org_config.parse_ref("orgconfig:api:stripe") == ("api", "stripe")
    assert org_config.parse_ref("orgconfig:db:a:b") == ("db", "a:b")
    assert org_config.parse_ref("orgconfig:oauth:x") is None
    assert org_config.parse_ref("stripe") is None
