"""Malformed requests get a clear 4xx in the surface's error shape and change nothing."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.aisp_hub import conftest as aisp

hub_url, make_realm = aisp.hub_url, aisp.make_realm  # fixtures: the AISP Hub drives these tests


@pytest.fixture
def hub(server, make_realm):
    realm = make_realm()
    return realm


def sessions_total(hub) -> int:
    return hub.http.get("/api/v1/sessions", headers=hub.headers).json()["total"]


def post_raw(hub, body: bytes, content_type="application/json", headers=None):
    return hub.http.post(
        "/api/v1/sessions",
        content=body,
        headers={**hub.headers, "Content-Type": content_type, **(headers or {})},
    )


def assert_error(r, status):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"]


def test_malformed_json(hub):
    for raw in [
        b'{"name": "a",',
        b"nul",
        b"{'a': 1}",
        b"[1, 2",
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": 1e999}',
    ]:
        assert_error(post_raw(hub, raw), 400)
    assert sessions_total(hub) == 0


def test_invalid_utf8(hub):
    assert_error(post_raw(hub, b'{"name": "\xff\xfe", "kind": "service"}'), 400)


def test_integers_beyond_64_bits(hub):
    # A typed integer is bounded by its schema (the served document gives every unbounded one
    # the int64 bounds): refused by validation. A body field that does not exist is refused as
    # unknown, whatever its value.
    body = b'{"name": "a", "kind": "service", "realm": "%s", "capabilities": [], "x": %d}'
    r = post_raw(hub, body % (hub.name.encode(), 2**64))
    assert_error(r, 400)
    assert "'x' was unexpected" in r.json()["error"]["message"]
    r = hub.http.get("/api/v1/sessions?limit=99999999999999999999999", headers=hub.headers)
    assert_error(r, 400)
    assert sessions_total(hub) == 0


def test_nul_in_typed_text_is_refused_by_the_schema(hub):
    # Every typed string of the served document excludes U+0000 (its pattern), so NUL in a
    # field is a validation error; NUL in a key of a closed object is an unknown field.
    for body in (
        b'{"name": "a\\u0000b", "kind": "agent", "realm": "default"}',
        b'{"name": "a", "kind": "agent", "realm": "default", "x\\u0000": 1}',
        b'{"name": "a", "kind": "agent", "realm": "default", "capabilities": ["\\u0000"]}',
    ):
        assert_error(post_raw(hub, body), 400)
    r = post_raw(hub, b'{"name": "a\\u0000b", "kind": "agent", "realm": "default"}')
    assert "does not match" in r.json()["error"]["message"]
    assert sessions_total(hub) == 0
    # The path and the query never name anything holding NUL: refused before routing.
    for url in ("/api/v1/sessions?realm=a%00b", "/api/v1/sessions/a%00b"):
        r = hub.http.get(url, headers=hub.headers)
        assert_error(r, 400)
        assert "NUL" in r.text


def test_deep_nesting(hub):
    assert_error(post_raw(hub, b"[" * 100_000 + b"]" * 100_000), 400)


def test_wrong_content_type_is_415(hub):
    assert_error(post_raw(hub, b"name=a", "application/x-www-form-urlencoded"), 415)
    assert_error(post_raw(hub, b"<a/>", "text/xml"), 415)
    assert sessions_total(hub) == 0


def test_oversized_body_is_413(hub, settings):
    big = b'{"name": "' + b"a" * settings.max_body_bytes + b'"}'
    assert_error(post_raw(hub, big), 413)

    def chunks():  # no Content-Length: counted while streaming
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b" " * 65536

    r = hub.http.post(
        "/api/v1/sessions",
        content=chunks(),
        headers={**hub.headers, "Content-Type": "application/json"},
    )
    assert_error(r, 413)


def test_unknown_path_is_404_in_surface_shape(hub):
    assert_error(hub.http.get("/api/v1/nothing", headers=hub.headers), 404)
    assert_error(hub.http.get("/api/v2/sessions"), 404)


def test_wrong_method_is_405_with_allow(hub):
    r = hub.http.put("/api/v1/sessions", headers=hub.headers)
    assert_error(r, 405)
    assert r.headers["Allow"] == "GET, POST"
    r = hub.http.patch("/api/v1/sessions/sess_01HX9J2N3PQRSTVWXYZ0123456", headers=hub.headers)
    assert r.headers["Allow"] == "DELETE, GET"
    r = hub.http.get("/api/v1/grants/grant_01HX9J2N3PQRSTVWXYZ0123456/approve", headers=hub.headers)
    assert_error(r, 405)
    assert r.headers["Allow"] == "POST"


def test_bad_parameters_are_400(hub):
    for url in [
        "/api/v1/sessions?limit=0",
        "/api/v1/sessions?limit=abc",
        "/api/v1/sessions?unknown=1",
        "/api/v1/sessions/" + "s" * 129,  # ids are any string up to 128
    ]:
        assert_error(hub.http.get(url, headers=hub.headers), 400)


def test_landing_page_lists_surfaces(server):
    r = httpx.get(server + "/")
    assert r.status_code == 200
    assert 'href="/aisp-hub/ui/"' in r.text and 'href="/aisp-hub/openapi.json"' in r.text
    spec = httpx.get(server + "/aisp-hub/openapi.json").json()
    assert spec["servers"][0]["url"] == server + "/aisp-hub"
    assert httpx.get(server + "/aisp-hub/ui/").status_code == 200


# --- every surface: duplicate keys, typed fields, free-form values ---------------------------
#
# The guard refuses a JSON object holding a key twice (at any depth) with the surface's 400.
# Typed strings and integers are bounded by the served document (no U+0000, int64), so bad
# ones are refused by validation in the surface's shape. Free-form JSON values (AISP payloads
# and memory values, HASP AI tool inputs, Harnesslayer profile metadata) are stored as JSON
# text and come back exactly as sent, NUL and integers beyond 64 bits included, on SQLite and
# PostgreSQL alike.

ODD = {
    "text": "a\u0000b",
    "big": 2**64,
    "small": -(2**70),
    "k\u0000ey": [{"nested\u0000": "\u0000"}, 18446744073709551616123],
}


def test_duplicate_keys_are_refused_by_the_hub(hub):
    me = hub.session()
    realm = hub.name.encode()
    for body in (
        b'{"name": "a", "name": "b", "kind": "agent", "realm": "%s"}' % realm,
        b'{"name": "a", "kind": "agent", "realm": "%s", "realm": "%s"}' % (realm, realm),
    ):
        r = post_raw(hub, body)
        assert_error(r, 400)
        assert "duplicate key" in r.json()["error"]["message"]
    assert sessions_total(hub) == 1
    nested = b'{"entries": [{"key": "a.b", "value": {"x": 1, "y": {"z": 1, "z": 2}}}]}'
    r = hub.http.post(
        "/api/v1/memory",
        content=nested,
        headers={**me.headers, "Content-Type": "application/json"},
    )
    assert_error(r, 400)
    assert hub.http.get("/api/v1/memory", headers=me.headers).json()["entries"] == []


def test_free_form_values_keep_nul_and_big_integers_in_the_hub(hub):
    a, b = hub.session(), hub.session()
    entries = [{"key": "odd.one", "value": ODD}, {"key": "odd.two", "value": "\u0000"}]
    r = hub.http.post("/api/v1/memory", headers=a.headers, json={"entries": entries})
    assert r.status_code == 200, r.text
    got = hub.http.get("/api/v1/memory", params={"namespace": "odd"}, headers=a.headers)
    assert [(e["key"], e["value"]) for e in got.json()["entries"]] == [
        ("odd.one", ODD),
        ("odd.two", "\u0000"),
    ]
    r = hub.send(a, b, payload=ODD)
    assert r.status_code == 200, r.text
    inbox = hub.http.get("/api/v1/messages", headers=b.headers).json()["messages"]
    assert [m["payload"] for m in inbox] == [ODD]


def anthropic_error(r, status: int) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["type"] == "error" and body["error"]["type"] and body["error"]["message"]


def hasp_error(r, statuses: tuple[int, ...]) -> None:
    assert r.status_code in statuses, r.text
    body = r.json()
    assert body["success"] is False and body["error"]["code"] and body["error"]["message"]


@pytest.fixture
def org(server):
    from tests.hasp_ai.conftest import make_org

    o = make_org(server)
    yield o
    o.http.close()


def test_hasp_ai_refuses_duplicate_keys_and_bad_typed_values(org):
    json_headers = {**org.headers, "Content-Type": "application/json"}
    for raw in (
        b'{"model": "claude-sonnet-4-6", "max_tokens": 9, "max_tokens": 64, '
        b'"messages": [{"role": "user", "content": "Hi"}]}',
        b'{"model": "claude-sonnet-4-6", "max_tokens": 64, '
        b'"messages": [{"role": "user", "content": "Hi", "role": "assistant"}]}',
    ):
        r = org.http.post("/v1/messages", content=raw, headers=json_headers)
        anthropic_error(r, 400)
        assert "duplicate key" in r.json()["error"]["message"]
    for body in (
        {"messages": [{"role": "user", "content": "a\u0000b"}]},
        {"messages": [{"role": "user", "content": "Hi"}], "system": "\u0000"},
        {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2**64},
    ):
        payload = {"model": "claude-sonnet-4-6", "max_tokens": 64, **body}
        anthropic_error(org.http.post("/v1/messages", headers=org.headers, json=payload), 400)

    keys_before = org.http.get("/v1/api_keys", headers=org.headers).json()["data"]
    r = org.http.post("/v1/api_keys", content=b'{"name": "a", "name": "b"}', headers=json_headers)
    hasp_error(r, (400,))
    assert "duplicate key" in r.json()["error"]["message"]
    r = org.http.post("/v1/api_keys", headers=org.headers, json={"name": "a\u0000b"})
    hasp_error(r, (400, 422))  # a schema failure on a control endpoint (HASP documents 422)
    assert org.http.get("/v1/api_keys", headers=org.headers).json()["data"] == keys_before


def test_hasp_ai_tool_inputs_keep_nul_and_big_integers(org):
    tool = {
        "name": "lookup",
        "description": "Looks a thing up.",
        "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "x": ODD},
    }
    messages = [
        {"role": "user", "content": "Look it up."},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_01", "name": "lookup", "input": ODD}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "found"}],
        },
    ]
    r = org.message(tools=[tool], messages=messages)
    assert r.status_code == 200, r.text
    record = org.http.get(f"/v1/ai/messages/{r.json()['id']}", headers=org.headers)
    assert record.status_code == 200, record.text
    stored = record.json()["data"]["messages"]
    assert stored[1]["content"][0]["input"] == ODD


def harnesslayer_error(r, status: int) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"]


@pytest.fixture
def ws(server):
    from tests.harnesslayer.conftest import make_workspace

    w = make_workspace(server)
    yield w
    w.http.close()


def app_count(ws) -> int:
    return ws.http.get("/v1/app/list", headers=ws.headers).json()["data"]["total"]


def test_harnesslayer_refuses_duplicate_keys_and_bad_typed_values(ws):
    json_headers = {**ws.headers, "Content-Type": "application/json"}
    for raw in (
        b'{"slug": "dup-a", "slug": "dup-b", "type": "claude"}',
        b'{"slug": "dup-c", "type": "claude", "limit": {"value": 1, "value": 2}}',
    ):
        r = ws.http.post("/v1/app/create", content=raw, headers=json_headers)
        harnesslayer_error(r, 400)
        assert "duplicate key" in r.json()["error"]["message"]
    for body in (
        {"slug": "nul-name", "type": "claude", "name": "a\u0000b"},
        {"slug": "nul\u0000slug", "type": "claude"},
    ):
        harnesslayer_error(ws.http.post("/v1/app/create", headers=ws.headers, json=body), 400)
    assert app_count(ws) == 0
    # Typed integers are int64 (the served document bounds `after`): beyond that is a 400.
    app = ws.app()
    r = ws.http.get(
        "/v1/response/poll/inst-none", headers=ws.headers, params={"after": 2**64, "timeoutMs": 0}
    )
    harnesslayer_error(r, 400)
    assert app_count(ws) == 1 and app["slug"]


def test_harnesslayer_profile_metadata_keeps_nul_and_big_integers(ws):
    app = ws.app()
    body = {"appId": app["id"], "identifier": "user-1", "metadata": ODD}
    r = ws.http.post("/v1/profile/create", headers=ws.headers, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["data"]["metadata"] == ODD
    got = ws.http.get(f"/v1/profile/{r.json()['data']['id']}", headers=ws.headers)
    assert got.status_code == 200, got.text
    assert got.json()["data"]["metadata"] == ODD


def test_validation_messages_do_not_repeat_the_whole_body(ws):
    """A body refused as a whole (here: both `webhookId` and `id`) is not echoed back: it may
    carry secrets, such as a header value."""
    body = {"webhookId": "wh-x", "id": "wh-x", "headers": {"Authorization": "Bearer sekret-123"}}
    r = ws.http.post("/v1/webhook/update", headers=ws.headers, json=body)
    harnesslayer_error(r, 400)
    assert "sekret-123" not in r.text


def _tenant(surface) -> str:
    """The path segment naming a tenant of a surface served per tenant (an unknown one)."""
    return f"/{surface.tenant_routing.example}" if surface.tenant_routing else ""


def item_routes(text_params_only: bool = False) -> list[tuple[str, str, str]]:
    """(surface, method, path with `{params}`) of every operation whose path ends in a param
    (`text_params_only`: and whose path params are all strings: an integer param's route
    matches digits only)."""
    from agentyard.specs.operations import operations
    from agentyard.surfaces import SURFACES

    return [
        (surface.name, op.method.upper(), surface.mount + _tenant(surface) + op.path)
        for surface in SURFACES.values()
        for op in operations(surface.spec)
        if op.path.endswith("}")
        and not (
            text_params_only and any(p.location == "path" and p.type != "str" for p in op.params)
        )
    ]


def test_an_id_ending_in_a_line_feed_names_nothing_on_any_surface(server):
    # The router's `$` matches before a final newline: `/agents/%0A` must not reach the
    # collection route `/agents/` (a list or a 405); no item has such an id, so 404.
    import re

    from agentyard.core.errors import render

    routes = item_routes()
    assert {name for name, _, _ in routes} >= {"aisp-hub", "hasp-ai", "harnesslayer", "hyphen"}
    with httpx.Client(base_url=server) as http:
        for _, method, template in routes:
            path = re.sub(r"\{[^}]+\}$", "%0A", re.sub(r"\{[^}]+\}(?=/)", "x", template))
            r = http.request(method, path, json={} if method in ("POST", "PUT", "PATCH") else None)
            assert r.status_code == 404, (method, path, r.text)
            shape = json.loads(render(path, 404, None, "m")[0])
            assert set(r.json()) == set(shape), (method, path, r.text)


def test_a_line_feed_inside_a_path_still_reaches_its_route(server):
    # The mounts' `{path:path}` stopped at a line feed: `/hyphen/oauth/a%0Ab/app-credentials`
    # matched no mount (a bare 404). The request must reach its operation, which answers it
    # like any other value (here 401 first: no credential is sent).
    import re

    with httpx.Client(base_url=server) as http:
        for _, method, template in item_routes(text_params_only=True):
            path = re.sub(r"\{[^}]+\}", "a%0Ab", template)
            r = http.request(method, path, json={} if method in ("POST", "PUT", "PATCH") else None)
            assert "No such endpoint" not in r.text, (method, path, r.text)
