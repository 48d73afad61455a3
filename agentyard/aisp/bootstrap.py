"""Keys for the operator (first start and `agentyard keys`): realm API keys.

On first start: a dev realm `default` with one API key, printed once.
"""

from __future__ import annotations

import re

from agentyard.aisp import SURFACE
from agentyard.core import keys
from agentyard.core.keys import ApiKey, KeyRequestError, Minted
from agentyard.core.store import write

DEV_REALM = "default"
REALM_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # the spec's RealmName


def new_secret() -> str:
    """An AISP Hub API key: `aisp_key_<32 hex>`."""
    return keys.random_secret("aisp_key_")


def ensure_realm(name: str) -> tuple[keys.Tenant, bool]:
    """The realm `name`, created when new; its name must be one a request can name."""
    if not REALM_NAME.fullmatch(name):
        raise KeyRequestError(
            f"realm name {name!r} is not one requests can name: lowercase letters, digits, "
            "'_' and '-', starting with a letter or digit, at most 63 characters"
        )
    return keys.get_or_create_tenant(SURFACE, name)


def mint(tenant: str, *, kind: str, scopes: list[str] | None, name: str, base_url: str) -> Minted:
    """An API key of realm `tenant` (created when new)."""
    keys.choose_scopes(scopes, known=(), default=())  # AISP keys have no scopes
    keys.check_kind(kind, (keys.DEFAULT_KIND,))
    with write():
        realm, created = ensure_realm(tenant)
        key, secret = keys.create_key(realm, new_secret, name=name)
    return Minted(key, secret, f"realm {realm.name}", (f"realm {realm.name}",) if created else ())


def describe(key: ApiKey) -> str:
    return key.tenant.name


def bootstrap(base_url: str) -> list[str]:
    """Create the dev realm and key when the store has no realm yet; lines to print."""
    if keys.has_tenants(SURFACE):
        return []
    minted = mint(DEV_REALM, kind=keys.DEFAULT_KIND, scopes=None, name="dev", base_url=base_url)
    return [f"aisp-hub: realm '{DEV_REALM}', API key {minted.secret} (X-AISP-Key; shown once)"]
