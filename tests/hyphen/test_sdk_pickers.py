"""SDK tool pickers over HTTP: the actions and workflows a key allows (by id or name, `*`),
without their configuration, and never another org's."""

from __future__ import annotations

import pytest

from tests.hyphen.gateway_kit import signup
from tests.hyphen.test_sdk_auth import accounts, make_key, session

DEFINITION = {"actions": [{"type": "PbotApproval", "properties": {"comment": "ok?"}}]}


@pytest.fixture
def account(server):
    yield from accounts(server)


def test_pickers_list_what_the_key_allows(server, account):
    made = {}
    for name in ("notify", "lookup", "secret_sync"):
        r = account.engine.post(
            "/actions",
            json={"action_name": name, "kind": "llm", "template": f"{name} {{{{x}}}}"},
        )
        assert r.status_code == 201, r.text
    for name in ("refunds", "payroll", "intake"):
        r = account.engine.post("/workflows", json={"name": name, "definition": DEFINITION})
        assert r.status_code == 201, r.text
        made[name] = r.json()["id"]
    key = make_key(
        account,
        allowed_actions=["notify", "lookup", "absent"],
        allowed_workflows=["refunds", made["intake"]],
    )
    client = session(server, key["key"])
    acts = client.get("/sdk/actions").json()
    assert [a["action_name"] for a in acts["actions"]] == ["notify", "lookup"]
    assert acts["total"] == 2
    assert set(acts["actions"][0]) == {
        "id",
        "action_name",
        "kind",
        "description",
        "input_schema",
        "created_at",
    }
    assert "x" in acts["actions"][0]["input_schema"]["properties"]
    page = client.get("/sdk/actions", params={"limit": 1, "offset": 1}).json()
    assert [a["action_name"] for a in page["actions"]] == ["lookup"] and page["total"] == 2
    flows = client.get("/sdk/workflows").json()
    assert [(w["name"], w["id"]) for w in flows["workflows"]] == [
        ("refunds", made["refunds"]),
        ("intake", made["intake"]),
    ]
    assert "definition" not in flows["workflows"][0]
    everything = session(server, make_key(account, allowed_actions=["*"])["key"])
    assert everything.get("/sdk/actions").json()["total"] == 3
    assert everything.get("/sdk/workflows").json()["total"] == 0
    stranger = signup(server)
    try:
        theirs = session(
            server, make_key(stranger, allowed_actions=["*"], allowed_workflows=["*"])["key"]
        )
        assert theirs.get("/sdk/actions").json() == {
            "actions": [],
            "total": 0,
            "limit": 100,
            "offset": 0,
        }
        assert theirs.get("/sdk/workflows").json()["workflows"] == []
    finally:
        stranger.manage.close()
        stranger.engine.close()


def test_the_data_routes_count_against_the_keys_rate_limit(server, account):
    key = make_key(account, allowed_actions=["*"], rate_limit_per_minute=4)
    client = session(server, key["key"])  # the session start is the first request
    for path in ("/sdk/actions", "/sdk/workflows", "/sdk/documents"):
        assert client.get(path).status_code == 200
    r = client.get("/sdk/agents")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 0
