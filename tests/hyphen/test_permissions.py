# ruff: noqa: F811 - the fixtures come from tests.hyphen.gateway_kit
"""Key permissions over HTTP: `read_only` keys cannot write, `execute_only` keys can only
execute and read runs; `full` (and CLI-minted) keys can do everything. Plus the table."""

from __future__ import annotations

import pytest

from agentyard.hyphen import auth
from tests.hyphen.conftest import error
from tests.hyphen.gateway_kit import account, key_client  # noqa: F401

DEFINITION = {
    "actions": [
        {
            "type": "matcher",
            "properties": {"left": "@input.a", "right": "@input.b", "matchOn": ["id"]},
        }
    ]
}

FIELDS = [{"name": "a", "type": "text"}]


def _key(server, account, permissions):
    r = account.manage.post(
        f"/gateway/orgs/{account.org_id}/keys", json={"permissions": permissions}
    )
    assert r.status_code == 201, r.text
    assert r.json()["permissions"] == permissions
    return key_client(server, r.json()["key"])


@pytest.fixture
def workflow_id(account) -> str:
    r = account.engine.post("/workflows", json={"name": "p", "definition": DEFINITION})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_read_only_reads_but_cannot_write(server, account, workflow_id) -> None:
    with _key(server, account, "read_only") as ro:
        assert ro.get("/workflows").status_code == 200
        assert ro.get(f"/workflows/{workflow_id}").status_code == 200
        assert ro.post("/utils/generate-dag", json={"definition": DEFINITION}).status_code == 200
        body = error(ro.post("/workflows", json={"name": "x", "definition": DEFINITION}), 403)
        assert "read_only" in body["message"]
        error(ro.post(f"/workflows/{workflow_id}/execute", json={"input": {}}), 403)
        error(ro.delete(f"/workflows/{workflow_id}"), 403)
        error(ro.post("/custom-tables", json={"name": "nope", "fields": FIELDS}), 403)
    # nothing was written
    assert account.engine.get("/custom-tables/nope").status_code == 404
    assert account.engine.get(f"/workflows/{workflow_id}").status_code == 200


def test_execute_only_executes_and_reads_runs_only(server, account, workflow_id) -> None:
    with _key(server, account, "execute_only") as ex:
        run = ex.post(f"/workflows/{workflow_id}/execute", json={"input": {"a": [], "b": []}})
        assert run.status_code == 202, run.text
        assert ex.get(f"/runs/{run.json()['run_id']}/status").status_code == 200
        assert ex.get("/agents").status_code == 200
        error(ex.get("/workflows"), 403)
        error(ex.get(f"/workflows/{workflow_id}"), 403)
        error(ex.get("/org-config"), 403)
        error(ex.post("/workflows", json={"name": "x", "definition": DEFINITION}), 403)


def test_full_keys_and_cli_keys_do_everything(http, account) -> None:
    assert http.post("/custom-tables", json={"name": "cli_t", "fields": FIELDS}).status_code == 201
    assert account.engine.delete("/custom-tables/nope").status_code == 404


def test_unknown_permissions_are_400(account) -> None:
    r = account.manage.post(f"/gateway/orgs/{account.org_id}/keys", json={"permissions": "admin"})
    error(r, 400)


@pytest.mark.parametrize(
    ("permission", "method", "operation", "allowed"),
    [
        ("full", "DELETE", "deleteWorkflow", True),
        ("read_only", "GET", "listWorkflows", True),
        ("read_only", "POST", "generateDag", True),
        ("read_only", "POST", "executeWorkflow", False),
        ("read_only", "PATCH", "updateWebhook", False),
        ("execute_only", "POST", "executeAgent", True),
        ("execute_only", "GET", "getRunStatus", True),
        ("execute_only", "GET", "listActions", False),
        ("nonsense", "GET", "listActions", False),
    ],
)
def test_the_permission_table(permission, method, operation, allowed) -> None:
    assert auth.allows(permission, method, operation) is allowed
