# ruff: noqa: F811 - the fixtures come from tests.hyphen.gateway_kit
"""Licences: minted for an org (domain and CLI), listed under the account, verified by
`POST /licensing/validate` (signature, expiry, tampering, foreign keys) and offline with the
key `GET /licensing/public-key` serves."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentyard.core import clock
from agentyard.core.keys import Tenant
from agentyard.core.store import connection
from agentyard.hyphen import licensing
from agentyard.hyphen.gateway_models import License
from tests.hyphen.gateway_kit import account  # noqa: F401

AGENTYARD = Path(sys.executable).with_name("agentyard")


def _mint(org_id: str, **kw) -> License:
    args = {"plan": "enterprise", "seats": 25, "features": ["sdk", "ai"], "days": 30, **kw}
    with connection():
        org = Tenant.get_by_id(org_id)
        return licensing.mint(org, "default", **args)


def test_a_minted_licence_validates_and_is_listed(anon, account) -> None:
    lic = _mint(account.org_id)
    r = anon.post("/licensing/validate", json={"license": lic.token})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["valid"] is True
    assert body["license"]["org_id"] == account.org_id
    assert body["license"]["seats"] == 25 and body["license"]["features"] == ["sdk", "ai"]
    listed = account.manage.get("/gateway/licenses").json()
    assert [x["id"] for x in listed["licenses"]] == [lic.id]
    assert listed["licenses"][0]["token"] == lic.token


def test_the_public_key_verifies_offline(anon, account) -> None:
    lic = _mint(account.org_id)
    key = anon.get("/licensing/public-key").json()
    verifier = serialization.load_pem_public_key(key["public_key_pem"].encode())
    claims = jwt.decode(lic.token, verifier, algorithms=["EdDSA"], issuer=licensing.ISSUER)
    assert claims["sub"] == account.org_id and claims["plan"] == "enterprise"
    assert jwt.get_unverified_header(lic.token)["kid"] == key["kid"]


def _reason(anon, token: str) -> str:
    r = anon.post("/licensing/validate", json={"license": token})
    assert r.status_code == 200, r.text
    assert r.json()["valid"] is False
    return r.json()["reason"]


def test_tampered_expired_foreign_and_garbage_licences_are_invalid(anon, account, monkeypatch):
    token = _mint(account.org_id).token
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["seats"] = 10_000
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert _reason(anon, f"{head}.{forged}.{sig}") == "bad_signature"
    assert _reason(anon, "not a licence") == "malformed"
    # signed by another key, naming this server's kid
    kid = jwt.get_unverified_header(token)["kid"]
    other = jwt.encode(
        claims,
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"typ": licensing.TYPE, "kid": kid},
    )
    assert _reason(anon, other) == "bad_signature"
    # expired: minted as if 31 days ago
    past = clock.now() - dt.timedelta(days=31)
    monkeypatch.setattr(clock, "now", lambda: past)
    old = _mint(account.org_id).token
    monkeypatch.undo()
    assert _reason(anon, old) == "expired"


@pytest.mark.parametrize("seats", [0, -1])
def test_bad_licence_requests_are_refused(account, seats) -> None:
    with pytest.raises(licensing.LicenseRequestError):
        _mint(account.org_id, seats=seats)


def test_the_cli_mints_a_licence_for_a_tenant(tmp_path) -> None:
    env = {**os.environ, "AGENTYARD_DATA_DIR": str(tmp_path), "DATABASE_URL": "", "REDIS_URL": ""}
    env = {k: v for k, v in env.items() if v}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(AGENTYARD), *args], env=env, capture_output=True, text=True, timeout=120
        )

    assert cli("keys", "create", "--surface", "hyphen", "--tenant", "acme", "-q").returncode == 0
    made = cli(
        "licenses",
        "create",
        "--tenant",
        "acme",
        "--plan",
        "pro",
        "--seats",
        "5",
        "--feature",
        "sdk",
        "--days",
        "10",
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    pem = cli("licenses", "public-key")
    assert pem.returncode == 0, pem.stderr
    verifier = serialization.load_pem_public_key(pem.stdout.encode())
    claims = jwt.decode(token, verifier, algorithms=["EdDSA"], issuer=licensing.ISSUER)
    assert claims["plan"] == "pro" and claims["seats"] == 5 and claims["features"] == ["sdk"]
    assert claims["exp"] - claims["iat"] == 10 * 86400
    assert cli("licenses", "create", "--tenant", "nope").returncode != 0
    assert cli("licenses", "create", "--tenant", "acme", "--seats", "0").returncode != 0
