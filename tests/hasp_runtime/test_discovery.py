"""Discovery over HTTP: agents.json and the Agent Cards list only the agent-callable workflows of
published releases, with absolute URLs; unknown orgs are 404 in the surface's shape."""

from __future__ import annotations

import httpx

from tests.hasp_runtime.conftest import ECHO, REVIEW, Runtime


def test_manifest_lists_published_agent_callable_workflows(rt: Runtime) -> None:
    echo = rt.agent(ECHO)
    rt.agent(REVIEW, name="Draft only", publish_it=False)
    manual = {**ECHO, "trigger": {"type": "manual"}}
    rt.agent(manual, name="Manual")
    r = rt.http.get(rt.url("/.well-known/agents.json"))
    assert r.status_code == 200, r.text
    manifest = r.json()
    assert manifest["organization"] == rt.org
    [agent] = manifest["agents"]
    assert (agent["project"], agent["workflow"]) == echo
    assert agent["endpoint"] == rt.url(f"/a2a/{echo[0]}/{echo[1]}")
    assert agent["input_schema"] == ECHO["trigger"]["input_schema"]
    assert agent["auth"]["required_scope"] == "workflow:invoke"
    assert agent["description"] == "Summarise a note" or agent["description"]


def test_agent_cards(rt: Runtime) -> None:
    echo = rt.agent(ECHO)
    review = rt.agent(REVIEW, name="Review")
    endpoints = sorted(
        [rt.url(f"/a2a/{echo[0]}/{echo[1]}"), rt.url(f"/a2a/{review[0]}/{review[1]}")]
    )
    for path in ("/.well-known/agent-card.json", "/.well-known/agent.json"):
        card = rt.http.get(rt.url(path)).json()
        assert card["protocolVersion"] == "0.3.0" and card["preferredTransport"] == "JSONRPC"
        assert card["capabilities"]["streaming"] is True
        assert sorted(i["url"] for i in card["additionalInterfaces"]) == endpoints
        assert card["url"] in endpoints
        assert len(card["skills"]) == 2
        assert card["security"] == [{"bearer": ["workflow:invoke"]}]
    one = rt.http.get(rt.url(f"/a2a/{echo[0]}/{echo[1]}/.well-known/agent-card.json"))
    assert one.status_code == 200, one.text
    assert one.json()["url"] == rt.url(f"/a2a/{echo[0]}/{echo[1]}")
    assert [s["id"] for s in one.json()["skills"]] == [f"{echo[0]}/{echo[1]}"]
    missing = rt.http.get(rt.url(f"/a2a/{echo[0]}/nope/.well-known/agent-card.json"))
    assert missing.status_code == 404
    assert missing.json()["error"]["data"]["code"] == "AGENT_NOT_FOUND"


def test_unknown_org_is_404(server: str) -> None:
    r = httpx.get(f"{server}/hasp-runtime/no-such-org-xyz/.well-known/agents.json")
    assert r.status_code == 404
    body = r.json()
    assert body["jsonrpc"] == "2.0" and body["id"] is None
    assert body["error"]["code"] == -32022
    assert body["error"]["data"]["code"] == "ORG_NOT_FOUND"


def test_published_document_names_the_org_variable(server: str) -> None:
    doc = httpx.get(f"{server}/hasp-runtime/openapi.json").json()
    [entry] = doc["servers"]
    assert entry["url"].endswith("/hasp-runtime/{org}")
    assert "org" in entry["variables"]
