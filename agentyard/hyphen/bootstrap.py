"""Keys for the operator (first start and `agentyard keys`): org API keys (`sk-hyp-`).

On first start: a dev org `default` with one key, printed once.
"""

from __future__ import annotations

from agentyard.core import keys
from agentyard.core.keys import ApiKey, Minted
from agentyard.core.store import write
from agentyard.hyphen import SURFACE
from agentyard.hyphen.auth import new_secret

DEV_ORG = "default"


def mint(tenant: str, *, kind: str, scopes: list[str] | None, name: str, base_url: str) -> Minted:
    """An API key of the org `tenant` (created when new)."""
    keys.choose_scopes(scopes, known=(), default=())  # Hyphen keys have no scopes
    keys.check_kind(kind, (keys.DEFAULT_KIND,))
    keys.check_tenant_name(tenant, "org")
    with write():
        org, created = keys.get_or_create_tenant(SURFACE, tenant)
        key, secret = keys.create_key(org, new_secret, name=name)
    return Minted(key, secret, f"org {org.name}", (f"org {org.name}",) if created else ())


def describe(key: ApiKey) -> str:
    """Whom a key acts for: its org's name."""
    return f"org {key.tenant.name}"


def bootstrap(base_url: str) -> list[str]:
    """Create the dev org and key when the store has no Hyphen org yet; lines to print."""
    if keys.has_tenants(SURFACE):
        return []
    minted = mint(DEV_ORG, kind=keys.DEFAULT_KIND, scopes=None, name="dev", base_url=base_url)
    return [f"hyphen: org '{DEV_ORG}', API key {minted.secret} (Authorization: Bearer; shown once)"]
