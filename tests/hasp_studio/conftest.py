"""HASP Studio helpers: fresh orgs with members, clients signed in by cookie or by token."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from agentyard.core.store import connection
from agentyard.hasp.studio import bootstrap

MOUNT = "/hasp-studio"
API = "/api/internal"


@dataclass
class Account:
    """A member of an org: credentials and their id."""

    org: str
    org_id: str
    user_id: str
    email: str
    password: str


@dataclass
class Client:
    """An HTTP client of /hasp-studio signed in by session cookie (`csrf` set) or token."""

    http: httpx.Client
    csrf: str | None = None
    token: str | None = None
    account: Account | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, *, csrf: bool = True, **kw) -> httpx.Response:
        headers = dict(self.headers)
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if csrf and self.csrf and method.upper() not in ("GET", "HEAD"):
            headers["X-CSRF-Token"] = self.csrf
        headers.update(kw.pop("headers", {}))
        return self.http.request(method, API + path, headers=headers, **kw)

    def get(self, path: str, **kw) -> httpx.Response:
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw) -> httpx.Response:
        return self.call("POST", path, **kw)

    def patch(self, path: str, **kw) -> httpx.Response:
        return self.call("PATCH", path, **kw)

    def delete(self, path: str, **kw) -> httpx.Response:
        return self.call("DELETE", path, **kw)


class Studio:
    """Makes orgs, members and signed-in clients against the live server."""

    def __init__(self, server: str) -> None:
        self.base = server + MOUNT
        self.clients: list[httpx.Client] = []

    def http(self) -> httpx.Client:
        client = httpx.Client(base_url=self.base, timeout=30)
        self.clients.append(client)
        return client

    def account(self, role: str = "owner", org: str | None = None) -> Account:
        org_name = org or f"org-{secrets.token_hex(4)}"
        email = f"{role}-{secrets.token_hex(4)}@example.org"
        with connection():
            user, password = bootstrap.create_user(org_name, email, role)
            return Account(org_name, user.tenant_id, user.id, email, password)

    def login(self, account: Account) -> Client:
        http = self.http()
        r = http.post(
            API + "/auth/login", json={"email": account.email, "password": account.password}
        )
        assert r.status_code == 200, r.text
        return Client(http, csrf=r.json()["data"]["csrf_token"], account=account)

    def member(self, role: str = "owner", org: str | None = None) -> Client:
        """A new member of `org` (a new org when None), signed in by cookie."""
        return self.login(self.account(role, org))

    def with_token(self, client: Client) -> Client:
        """A client of the same member that presents a fresh personal access token only."""
        r = client.post("/auth/tokens", json={"name": "ci"})
        assert r.status_code == 201, r.text
        return Client(self.http(), token=r.json()["data"]["token"], account=client.account)

    def close(self) -> None:
        for client in self.clients:
            client.close()


@pytest.fixture
def studio(server: str) -> Iterator[Studio]:
    s = Studio(server)
    yield s
    s.close()


@pytest.fixture
def owner(studio: Studio) -> Client:
    """An org owner of a fresh org, signed in by cookie."""
    return studio.member("owner")


def new_project(client: Client, slug: str | None = None, **body) -> dict:
    payload = {"name": "Intake", **body}
    if slug:
        payload["slug"] = slug
    else:
        payload["slug"] = f"p-{secrets.token_hex(4)}"
    r = client.post("/projects", json=payload)
    assert r.status_code == 201, r.text
    return r.json()["data"]
