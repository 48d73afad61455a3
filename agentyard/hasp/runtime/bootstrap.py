"""Keys for the operator when the runtime is served alone: org API keys with `workflow:invoke`
(the HASP AI keys: one key space for every HASP surface)."""

from __future__ import annotations

import dataclasses

from agentyard.core import keys
from agentyard.core.keys import ApiKey, Minted
from agentyard.hasp import SURFACE as ORGS
from agentyard.hasp import bootstrap as org_keys
from agentyard.hasp.runtime.discovery import SCOPE


def mint(tenant: str, *, kind: str, scopes: list[str] | None, name: str, base_url: str) -> Minted:
    """A key of organization `tenant` (created when new) with `scopes`, `workflow:invoke` when
    none are given."""
    minted = org_keys.mint(
        tenant, kind=kind, scopes=scopes or [SCOPE], name=name, base_url=base_url
    )
    return dataclasses.replace(minted, notes=())  # the BAA concerns inference, not invocation


def describe(key: ApiKey) -> str:
    return org_keys.describe(key)


def bootstrap(base_url: str) -> list[str]:
    """When the store has no HASP org yet: the dev org and an invocation key, printed once."""
    if keys.has_tenants(ORGS):
        return []
    minted = mint(
        org_keys.DEV_ORG, kind=keys.DEFAULT_KIND, scopes=None, name="dev", base_url=base_url
    )
    return [
        f"hasp-runtime: org '{org_keys.DEV_ORG}', API key {minted.secret} ({SCOPE}; shown once). "
        f"Served per org: /hasp-runtime/{{org}}/... combined, or http://{{org}}.<domain>:<port>/ "
        "alone (AGENTYARD_HASP_RUNTIME_DOMAIN, default localhost)"
    ]
