"""Gateway fixtures: signing up over HTTP and clients for the management token and org key."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest


@dataclass
class Signup:
    body: dict
    manage: httpx.Client  # Bearer mt-hyp-
    engine: httpx.Client  # Bearer sk-hyp- (the first key, full)

    @property
    def org_id(self) -> str:
        return self.body["org"]["id"]


def signup(server: str, email: str | None = None) -> Signup:
    """Sign up a fresh account over HTTP."""
    email = email or f"u{secrets.token_hex(6)}@example.com"
    r = httpx.post(
        server + "/hyphen/gateway/signup", json={"email": email, "name": "Ada"}, timeout=30
    )
    assert r.status_code == 201, r.text
    body = r.json()
    base = server + "/hyphen"
    manage = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {body['management_token']}"}
    )
    engine = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {body['api_key']['key']}"}
    )
    return Signup(body, manage, engine)


@pytest.fixture
def account(server: str) -> Iterator[Signup]:
    s = signup(server)
    yield s
    s.manage.close()
    s.engine.close()


def key_client(server: str, secret: str) -> httpx.Client:
    return httpx.Client(base_url=server + "/hyphen", headers={"Authorization": f"Bearer {secret}"})
