"""Malformed requests get a clear 4xx in the surface's error shape and change nothing."""

from __future__ import annotations

import httpx
import pytest


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
    body = b'{"name": "a", "kind": "service", "realm": "%s", "capabilities": [], "x": %d}'
    r = post_raw(hub, body % (hub.name.encode(), 2**64))
    assert_error(r, 400)
    assert "64-bit" in r.json()["error"]["message"]
    r = hub.http.get("/api/v1/sessions?limit=99999999999999999999999", headers=hub.headers)
    assert_error(r, 400)
    assert sessions_total(hub) == 0


def test_nul_characters_are_refused_everywhere(hub):
    # PostgreSQL cannot store U+0000; every backend refuses it alike, before any handler.
    for body in (
        b'{"name": "a\\u0000b", "kind": "agent", "realm": "default"}',
        b'{"name": "a", "kind": "agent", "realm": "default", "x\\u0000": 1}',
        b'{"name": "a", "kind": "agent", "realm": "default", "tags": [["\\u0000"]]}',
    ):
        r = post_raw(hub, body)
        assert_error(r, 400)
        assert "NUL" in r.text
    assert sessions_total(hub) == 0
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
        "/api/v1/sessions/not-an-id",
    ]:
        assert_error(hub.http.get(url, headers=hub.headers), 400)


def test_landing_page_lists_surfaces(server):
    r = httpx.get(server + "/")
    assert r.status_code == 200
    assert 'href="/aisp-hub/ui/"' in r.text and 'href="/aisp-hub/openapi.json"' in r.text
    spec = httpx.get(server + "/aisp-hub/openapi.json").json()
    assert spec["servers"][0]["url"] == server + "/aisp-hub"
    assert httpx.get(server + "/aisp-hub/ui/").status_code == 200
