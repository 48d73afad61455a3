"""Path ids: an id that names nothing is a 404 in the surface's error shape, whatever its
shape (the seed's ids are not all ULIDs, and clients choose some of them); only the length
is bounded (400 past the documented maxLength)."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from tests.harnesslayer.people_helpers import error

# Shapes the server never mints, each a path segment that names nothing.
ODD_IDS = [
    "sess_01HX9J2N3PQRSTVWXYZ",  # an id in another seed's style
    "~tilde",
    "_leading-underscore",
    "-leading-dash",
    "with space",
    "émoji-🙂",
    "a:b@c",
    "(paren)+plus,comma;semi=eq",
    "100%",
    "x" * 128,
]

SIGNED = "eyJwIjoiYmxvYi11cGxvYWQifQ.c2ln"  # the shape of a token, signed by no key


def _operations(app: dict) -> list[tuple[str, str, dict | None]]:
    """(method, path with `{id}`, JSON body) of every operation taking an organization key."""
    return [
        ("GET", "/v1/app/{id}", None),
        ("PATCH", "/v1/app/{id}", {"name": "Renamed"}),
        ("DELETE", "/v1/app/{id}", None),
        ("POST", "/v1/version/upload/{id}/complete", {"appId": app["id"], "versionId": "v1"}),
        ("GET", "/v1/version/download/{id}", None),
        ("GET", "/v1/version/{id}", None),
        ("GET", "/v1/access_group/{id}", None),
        ("PATCH", "/v1/access_group/{id}", {"name": "Renamed"}),
        ("DELETE", "/v1/access_group/{id}", None),
        ("GET", "/v1/channel/{id}", None),
        ("PATCH", "/v1/channel/{id}", {"name": "Renamed"}),
        ("DELETE", "/v1/channel/{id}", None),
        ("GET", "/v1/response/poll/{id}", None),
        ("GET", "/v1/session/{id}", None),
        ("DELETE", "/v1/session/{id}", None),
        ("GET", "/v1/profile/{id}", None),
        ("PATCH", "/v1/profile/{id}", {"metadata": {"a": 1}}),
        ("DELETE", "/v1/profile/{id}", None),
        ("POST", "/v1/state/upload/{id}/complete", {"profileId": "prof-x", "stateId": "s1"}),
        ("POST", "/v1/state/download/{id}", None),
        ("GET", "/v1/state/{id}", None),
        ("GET", "/v1/instance/{id}", None),
        ("GET", "/v1/sync/{id}", None),
        ("GET", "/v1/conflict/{id}", None),
        ("GET", "/v1/history/{id}", None),
    ]


def _call(ws, method: str, path: str, ident: str, body: dict | None, **kw) -> httpx.Response:
    url = path.replace("{id}", quote(ident, safe=""))
    headers = kw.pop("headers", ws.headers)
    return ws.http.request(method, url, headers=headers, json=body, **kw)


@pytest.mark.parametrize("ident", ODD_IDS)
def test_an_id_that_names_nothing_is_404_whatever_its_shape(ws, ident):
    app = ws.app()
    for method, path, body in _operations(app):
        r = _call(ws, method, path, ident, body)
        error(r, 404, "not_found")
    # The organization routes (user key), the profile by identifier, the Sendblue webhook and
    # the signed blob URLs (whose token is the id) alike.
    r = _call(ws, "PATCH", "/v1/organization/{id}", ident, {"name": "X"}, headers=ws.user_headers)
    error(r, 404, "not_found")
    r = _call(ws, "GET", "/v1/profile/{id}", ident, None, params={"appId": app["id"]})
    error(r, 404, "not_found")
    inbound = {"message_handle": "m1", "from_number": "+15550001111", "content": "hi"}
    r = _call(ws, "POST", "/v1/channel/{id}/sendblue/inbound", ident, inbound, headers={})
    error(r, 404, "not_found")
    for token in (ident, SIGNED):
        r = _call(ws, "GET", "/v1/blobs/download/{id}", token, None, headers={})
        error(r, 404, "not_found")
        r = ws.http.put(
            "/v1/blobs/upload/" + quote(token, safe=""),
            content=b"x",
            headers={"Content-Type": "application/octet-stream"},
        )
        error(r, 404, "not_found")


def test_path_ids_past_the_documented_length_are_400(ws):
    app = ws.app()
    for method, path, body in _operations(app):
        limit = 256 if path.startswith("/v1/profile/") else 128
        error(_call(ws, method, path, "x" * (limit + 1), body), 400, "bad_request")
        if method == "GET":  # exactly at the limit: an id like any other
            error(_call(ws, method, path, "x" * limit, body), 404, "not_found")
