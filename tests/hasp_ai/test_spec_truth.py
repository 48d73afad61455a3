"""The published HASP AI document states what the server accepts: cursors, webhook URLs and
size bounds are described exactly, so a request the schema allows is not refused for them."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.hasp_ai.test_webhooks import register

LISTS = ["/v1/api_keys", "/v1/compliance/baa/acceptances", "/v1/webhooks", "/v1/audit"]


@pytest.fixture(scope="module")
def published(server) -> dict:
    return httpx.get(server + "/hasp-ai/openapi.json").json()


def test_any_cursor_of_the_documented_form_is_a_position(org, published):
    params = published["components"]["parameters"]
    assert register(org, "https://hooks.example.com/x").status_code == 201  # one row per list
    for path in LISTS:
        name = "AuditCursor" if path == "/v1/audit" else "Cursor"
        pattern = params[name]["schema"]["pattern"]
        made_up = "1700000000000.42" if path == "/v1/audit" else "1700000000000.key_made_up"
        assert re.search(pattern, made_up)
        r = org.http.get(path, headers=org.headers, params={"cursor": made_up})
        assert r.status_code == 200, (path, r.text)
        assert r.json()["data"] == []  # nothing is older than 2023 in this org
        future = "99999999999999.zz" if path != "/v1/audit" else "99999999999999.9"
        page = org.http.get(path, headers=org.headers, params={"cursor": future, "limit": 1})
        assert page.status_code == 200 and len(page.json()["data"]) == 1, path
        issued = page.json()["meta"]["next_cursor"]
        if issued is not None:
            assert re.search(pattern, issued), issued
        bad = org.http.get(path, headers=org.headers, params={"cursor": "not a cursor"})
        assert bad.status_code == 422, path


def test_audit_paging_is_complete_with_hasp_cursors(org):
    for i in range(5):
        org.http.put("/v1/usage/budget", headers=org.headers, json={"spend_cap": 1000 + i})
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "action": "budget.updated", **({"cursor": cursor} if cursor else {})}
        page = org.http.get("/v1/audit", headers=org.headers, params=params).json()
        seen += [e["metadata"]["spend_cap"] for e in page["data"]]
        cursor = page["meta"]["next_cursor"]
        if not page["meta"]["has_more"]:
            break
    assert seen == [1004, 1003, 1002, 1001, 1000]


def test_webhook_urls_are_accepted_exactly_when_the_published_pattern_matches(org, published):
    schema = published["components"]["schemas"]["WebhookCreateRequest"]["properties"]["url"]
    # The test server allows plain http and 127.0.0.1 (as an operator may, see the spec).
    for url in (
        "https://hooks.example.com/hasp?x=1#f",
        "http://127.0.0.1:9/hook",
        "0",
        "https://[::1]/hook",
        "https://a..b/",
        "https://host:0/",
        "https://host/caf\u00e9",
    ):
        matches = re.search(schema["pattern"], url) is not None
        r = register(org, url)
        assert r.status_code == (201 if matches else 422), (url, r.text)


def _unbounded(schema: dict, where: str, components: dict, seen: set) -> list[str]:
    """Request schema nodes without a size bound (strings, arrays, free-form objects)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return []
        seen.add(name)
        return _unbounded(components[name], name, components, seen)
    found: list[str] = []
    for key in ("oneOf", "anyOf", "allOf"):
        for i, sub in enumerate(schema.get(key, [])):
            found += _unbounded(sub, f"{where}/{key}/{i}", components, seen)
    kind = schema.get("type")
    if kind == "string" and not ({"maxLength", "enum", "format"} & set(schema)):
        found.append(where)
    if kind == "array":
        if "maxItems" not in schema:
            found.append(where)
        found += _unbounded(schema.get("items", {}), f"{where}/items", components, seen)
    if kind == "object":
        extra = schema.get("additionalProperties")
        if extra not in (False, None) and "maxProperties" not in schema:
            found.append(where)
        for name, sub in (schema.get("properties") or {}).items():
            found += _unbounded(sub, f"{where}.{name}", components, seen)
    return found


def test_every_request_value_is_bounded_and_413_is_documented(published):
    components = published["components"]["schemas"]
    unbounded, undocumented = [], []
    for path, item in published["paths"].items():
        for method, op in item.items():
            for param in op.get("parameters", []):
                if "$ref" in param:
                    param = published["components"]["parameters"][param["$ref"].rsplit("/")[-1]]
                unbounded += _unbounded(
                    param["schema"], f"{path} {param['name']}", components, set()
                )
            body = (op.get("requestBody") or {}).get("content", {}).get("application/json")
            if body:
                unbounded += _unbounded(body["schema"], f"{method} {path}", components, set())
                if "413" not in op["responses"]:
                    undocumented.append(f"{method} {path}")
    # Free-form JSON the caller defines (a tool's input, its input_schema, an output schema)
    # is bounded by maxProperties at its top; what nests inside is bounded by the body limit.
    assert unbounded == [] and undocumented == []


def test_a_value_at_its_bound_is_taken_and_one_past_it_refused(org):
    def count(text: str) -> httpx.Response:
        body = {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": text}]}
        return org.http.post("/v1/messages/count_tokens", headers=org.headers, json=body)

    assert count("a " * 50_000).status_code == 200  # 100,000 characters
    refused = count("a " * 50_000 + "b")
    assert refused.status_code == 400 and refused.json()["error"]["type"] == "invalid_request_error"
