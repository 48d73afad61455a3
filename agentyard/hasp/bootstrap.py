"""Keys for the operator (first start and `agentyard keys`): organization API keys.

On first start: a dev organization `default` with one all-scope API key, printed once.
"""

from __future__ import annotations

import json
import shlex

from agentyard.core import keys
from agentyard.core.keys import ApiKey, Minted, Tenant
from agentyard.core.store import write
from agentyard.hasp import SURFACE, baa, orgs
from agentyard.hasp.auth import SCOPES, new_secret

DEV_ORG = "default"
# What a key minted without scopes gets: the documented inference scope.
INFERENCE_SCOPES = ("ai:chat",)
ADMIN_SCOPE = "control:admin"
ACCEPTANCES = "/v1/compliance/baa/acceptances"


def ensure_org(name: str) -> tuple[Tenant, bool]:
    """The organization `name` with its settings row, created when new."""
    with write():
        org, created = keys.get_or_create_tenant(SURFACE, keys.check_tenant_name(name, "org"))
        orgs.settings_of(org)
    return org, created


def _baa_hint(org: Tenant, scopes: list[str], base_url: str) -> tuple[str, ...]:
    """How to accept the BAA (inference needs it), as commands that run as printed."""
    body = json.dumps(
        {
            "version": baa.VERSION,
            "signer_name": "SIGNER NAME",
            "signer_title": "SIGNER TITLE",
            "signer_email": "signer@example.com",
            "agree": True,
        },
        separators=(",", ":"),
    )
    curl = (
        f'  curl -sf {shlex.quote(base_url + ACCEPTANCES)} -H "x-api-key: $KEY" '
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}"
    )
    head = (
        f"org '{org.name}' has not accepted the BAA: inference answers 402 BAA_REQUIRED "
        f"until it does (server at {base_url}; --server-url changes it). As the signer, "
    )
    if ADMIN_SCOPE in scopes:
        return (head + "with KEY set to this key (it holds control:admin):", curl)
    tenant = shlex.quote(org.name)
    return (
        head + "with a control:admin key, which this key lacks:",
        f"  KEY=$(agentyard keys create --surface {SURFACE} --tenant {tenant} "
        f"--scopes {ADMIN_SCOPE} --name baa --quiet)",
        curl,
        f'  agentyard keys revoke --surface {SURFACE} "$KEY"',
    )


def mint(tenant: str, *, kind: str, scopes: list[str] | None, name: str, base_url: str) -> Minted:
    """A key of organization `tenant` (created when new). Without scopes: the inference
    scope, said in a note; unknown scopes are refused."""
    keys.check_kind(kind, (keys.DEFAULT_KIND,))
    chosen, defaulted = keys.choose_scopes(scopes, known=SCOPES, default=INFERENCE_SCOPES)
    with write():
        org, created = ensure_org(tenant)
        key, secret = keys.create_key(org, new_secret, name=name, scopes=chosen)
        accepted = baa.current_acceptance(org) is not None
    notes = ((defaulted,) if defaulted else ()) + (
        () if accepted else _baa_hint(org, chosen, base_url)
    )
    return Minted(key, secret, f"org {org.name}", (f"org {org.name}",) if created else (), notes)


def describe(key: ApiKey) -> str:
    return key.tenant.name


def bootstrap(base_url: str) -> list[str]:
    """Create the dev org and key when the store has no HASP org yet; lines to print."""
    if keys.has_tenants(SURFACE):
        return []
    minted = mint(
        DEV_ORG, kind=keys.DEFAULT_KIND, scopes=list(SCOPES), name="dev", base_url=base_url
    )
    return [
        f"hasp-ai: org '{DEV_ORG}', API key {minted.secret} (all scopes; shown once). "
        f"Accept the BAA first: POST {base_url}{ACCEPTANCES}"
    ]
