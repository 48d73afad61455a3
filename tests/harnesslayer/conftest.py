"""Harnesslayer helpers: a user (uk- key) owning a fresh organization (dk- key)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from agentyard.core.store import connection
from agentyard.harnesslayer import orgs
from agentyard.harnesslayer.auth import create_user


@dataclass
class Workspace:
    user_key: str
    org_key: str
    org_id: str
    org_slug: str
    http: httpx.Client

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.org_key}"}

    @property
    def user_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.user_key}"}

    def app(self, slug: str | None = None, **body) -> dict:
        payload = {"slug": slug or f"app-{secrets.token_hex(3)}", "type": "claude", **body}
        r = self.http.post("/v1/app/create", headers=self.headers, json=payload)
        assert r.status_code == 201, r.text
        return r.json()["data"]


def make_workspace(server: str) -> Workspace:
    with connection():
        user, user_key = create_user("tester")
        org, org_key, _ = orgs.create(user, "Test Org", f"org-{secrets.token_hex(4)}", False)
    http = httpx.Client(base_url=server + "/harnesslayer", timeout=30)
    return Workspace(user_key, org_key, org.id, org.slug, http)


@pytest.fixture
def ws(server: str) -> Iterator[Workspace]:
    w = make_workspace(server)
    yield w
    w.http.close()


@pytest.fixture
def other_ws(server: str) -> Iterator[Workspace]:
    w = make_workspace(server)
    yield w
    w.http.close()
