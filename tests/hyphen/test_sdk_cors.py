"""CORS on /sdk as a browser does it: preflights from allowed and refused origins, and the
allow-origin header on real requests only for the origins of the key they use."""

from __future__ import annotations

import secrets

import httpx
import pytest

from tests.hyphen.test_sdk_auth import (
    ORIGIN,
    accounts,
    make_key,
    session,
)

PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "x-publishable-key, content-type",
}


@pytest.fixture
def account(server):
    yield from accounts(server)


def test_preflight_from_an_allowed_and_a_refused_origin(server, account):
    make_key(account)
    r = httpx.options(server + "/hyphen/sdk/auth/session", headers={"Origin": ORIGIN, **PREFLIGHT})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == ORIGIN
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "x-publishable-key", "last-event-id", "content-type"} <= allowed
    assert "POST" in r.headers["access-control-allow-methods"]
    refused = httpx.options(
        server + "/hyphen/sdk/auth/session",
        headers={"Origin": "https://evil.example", **PREFLIGHT},
    )
    assert refused.status_code == 204
    assert "access-control-allow-origin" not in refused.headers
    assert "access-control-allow-methods" not in refused.headers
    # routes outside /sdk answer no CORS
    other = httpx.options(server + "/hyphen/workflows", headers={"Origin": ORIGIN, **PREFLIGHT})
    assert "access-control-allow-origin" not in other.headers


def test_real_requests_carry_allow_origin_only_for_the_keys_origins(server, account):
    key = make_key(account)
    second = "https://second.example.org"
    make_key(account, allowed_origins=[second])  # another key allows `second`
    r = httpx.post(
        server + "/hyphen/sdk/auth/session",
        headers={"X-Publishable-Key": key["key"], "Origin": ORIGIN},
    )
    assert r.status_code == 201
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in r.headers["vary"]
    client = session(server, key["key"])
    r = client.get("/sdk/config")
    assert r.headers["access-control-allow-origin"] == ORIGIN
    # `second` passes preflight (some key allows it) but this key refuses it: 403, no header
    r = client.get("/sdk/config", headers={"Origin": second})
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers
    # a 401 with no valid credential is readable from an origin some key allows, not others
    bad = httpx.get(server + "/hyphen/sdk/config", headers={"Origin": ORIGIN})
    assert bad.status_code == 401 and bad.headers["access-control-allow-origin"] == ORIGIN
    bad = httpx.get(server + "/hyphen/sdk/config", headers={"Origin": "https://evil.example"})
    assert bad.status_code == 401 and "access-control-allow-origin" not in bad.headers
    # revoking the only key allowing an origin withdraws it from preflights
    lone = f"https://{secrets.token_hex(6)}.example.net"
    only = make_key(account, allowed_origins=[lone])
    r = httpx.options(server + "/hyphen/sdk/config", headers={"Origin": lone, **PREFLIGHT})
    assert r.headers["access-control-allow-origin"] == lone
    account.manage.delete(f"/gateway/orgs/{account.org_id}/sdk-keys/{only['id']}")
    r = httpx.options(server + "/hyphen/sdk/config", headers={"Origin": lone, **PREFLIGHT})
    assert "access-control-allow-origin" not in r.headers
