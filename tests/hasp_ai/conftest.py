"""HASP AI helpers: fresh organizations with keys, an HTTP client and the Anthropic SDK."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import anthropic
import httpx
import pytest

from agentyard.core import keys
from agentyard.core.store import connection
from agentyard.hasp import SURFACE
from agentyard.hasp.ai import gateway
from agentyard.hasp.auth import SCOPES, new_secret

BAA = {
    "version": "2026-04-01",
    "signer_name": "Dana Whitfield",
    "signer_title": "Privacy Officer",
    "signer_email": "dana@clinic.example",
    "agree": True,
}


@dataclass
class Org:
    """A fresh organization with an all-scope key and a client for /hasp-ai."""

    name: str
    key: str
    base: str
    http: httpx.Client

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def key_with(self, *scopes: str) -> str:
        """Another key of this org with exactly these scopes."""
        with connection():
            tenant = keys.find_tenant(SURFACE, self.name)
            _, secret = keys.create_key(tenant, new_secret, name="scoped", scopes=list(scopes))
        return secret

    def sdk(self, key: str | None = None, **kw) -> anthropic.Anthropic:
        """The official SDK pointed at this server: only the base URL changes."""
        return anthropic.Anthropic(base_url=self.base, api_key=key or self.key, max_retries=0, **kw)

    def accept_baa(self) -> dict:
        r = self.http.post("/v1/compliance/baa/acceptances", headers=self.headers, json=BAA)
        assert r.status_code == 201, r.text
        return r.json()["data"]

    def settings(self, **changes) -> None:
        r = self.http.patch("/v1/org/settings", headers=self.headers, json=changes)
        assert r.status_code == 200, r.text

    def message(self, content: str = "Hello", **body) -> httpx.Response:
        payload = {
            "model": "claude-sonnet-4-6",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": content}],
            **body,
        }
        return self.http.post("/v1/messages", headers=self.headers, json=payload)


def make_org(server: str, accept_baa: bool = True) -> Org:
    name = f"org-{secrets.token_hex(4)}"
    with connection():
        tenant, _ = keys.get_or_create_tenant(SURFACE, name)
        _, secret = keys.create_key(tenant, new_secret, name="test", scopes=list(SCOPES))
    base = server + "/hasp-ai"
    org = Org(name, secret, base, httpx.Client(base_url=base, timeout=30))
    if accept_baa:
        org.accept_baa()
    return org


@pytest.fixture
def org(server: str) -> Iterator[Org]:
    o = make_org(server)
    yield o
    o.http.close()


@pytest.fixture
def other_org(server: str) -> Iterator[Org]:
    o = make_org(server)
    yield o
    o.http.close()


@pytest.fixture
def fresh_org(server: str) -> Iterator[Org]:
    """An org that has not accepted the BAA."""
    o = make_org(server, accept_baa=False)
    yield o
    o.http.close()


@pytest.fixture
def upstream_provider():
    """Swap the gateway's provider for the test (restored afterwards)."""
    swapped = []

    def use(provider) -> None:
        swapped.append(provider)
        gateway.use_provider(provider)

    yield use
    gateway.use_provider(None)
