"""Tenants and keys of any surface, made the way its operator would (`Surface.mint`).

key = make_key("hasp-ai", scopes=["ai:chat"])     # a fresh tenant and its key
httpx.get(url, headers=key.headers)               # the surface's own auth header

HASP Studio has no API keys (its callers are signed-in members): `studio_owner_token()` makes an
org owner and a personal access token, and `caller_headers(surface)` is a valid caller's
headers on any surface.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from agentyard import surfaces
from agentyard.core import keys
from agentyard.core.store import connection

BASE_URL = "http://testserver"  # where minted keys' notes say the surface is served


@dataclass(frozen=True)
class Key:
    """A key minted for a test: its surface, tenant, kind and secret (and its row's id)."""

    surface: str
    tenant: str
    kind: str
    secret: str
    id: str

    @property
    def headers(self) -> dict[str, str]:
        """The headers that present this key, as the surface reads them."""
        return surfaces.get(self.surface).auth_headers(self.secret)


def tenant_name(prefix: str = "test") -> str:
    """A fresh tenant name every surface accepts (`<prefix>-<8 hex>`)."""
    return f"{prefix}-{secrets.token_hex(4)}"


def make_tenant(surface: str, name: str | None = None) -> str:
    """A new tenant of `surface` (named `name`, or a fresh name) with its product rows and a
    first key; returns its name."""
    return make_key(surface, name or tenant_name()).tenant


def make_key(
    surface: str,
    tenant: str | None = None,
    *,
    kind: str = keys.DEFAULT_KIND,
    scopes: list[str] | None = None,
    name: str = "test",
) -> Key:
    """A key of `kind` for `tenant` of `surface` (a fresh tenant when None, created with its
    product rows when new); `scopes` None means the surface's default."""
    s = surfaces.get(surface)
    with connection():
        minted = s.mint(
            tenant or tenant_name(), kind=kind, scopes=scopes, name=name, base_url=BASE_URL
        )
    return Key(surface, minted.key.tenant.name, kind, minted.secret, minted.key.id)


def studio_owner_token(prefix: str = "owner") -> str:
    """A personal access token of a new HASP Studio org's owner (in a fresh org)."""
    from agentyard.hasp.studio import bootstrap, tokens
    from agentyard.hasp.studio.member import Member

    tag = tenant_name(prefix)
    with connection():
        user, _ = bootstrap.create_user(tag, f"{tag}@example.org", "owner")
        _, token = tokens.create(Member(user, user.tenant, "token", "setup"), prefix, None)
    return token


def caller_headers(surface: str) -> dict[str, str]:
    """The headers of a valid caller of `surface` with its default rights (HASP Studio: an
    org owner's personal access token; the others: a fresh tenant's key)."""
    if surface == "hasp-studio":
        return {"Authorization": f"Bearer {studio_owner_token()}"}
    return make_key(surface).headers
