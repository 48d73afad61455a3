"""Who is calling Hyphen: an org API key (`sk-hyp-`, gateway mode) or, when the operator
enabled direct engine mode, an `X-Org-Id` header naming the org.

Orgs are core tenants of the `hyphen` key space; `Caller.org_id` is the tenant's id, the
column every Hyphen table scopes its rows by.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentyard.core import keys, runtime
from agentyard.core.errors import unauthorized
from agentyard.core.keys import Tenant
from agentyard.hyphen import SURFACE

PREFIX = "sk-hyp-"
DIRECT = "x-org-id"  # Caller.key_id of a direct engine mode request


@dataclass(frozen=True)
class Caller:
    """An authenticated org: its tenant id and the key it used (`x-org-id` in direct mode)."""

    org_id: str
    key_id: str


def new_secret() -> str:
    """An org API key: `sk-hyp-<32 hex>`."""
    return keys.random_secret(PREFIX)


def rate_limit(*identifiers: str) -> None:
    """Count one request against `identifiers`; 429 with Retry-After past
    AGENTYARD_HYPHEN_REQUESTS_PER_MINUTE."""
    per_minute = runtime.settings().hyphen_requests_per_minute
    runtime.limiter().enforce(per_minute, SURFACE, *identifiers)


def from_key(secret: str) -> Caller:
    """The org an `sk-hyp-` key belongs to; 401 otherwise."""
    if not secret.startswith(PREFIX):
        raise unauthorized("Expected an API key: Authorization: Bearer sk-hyp-...")
    key = keys.lookup(SURFACE, secret)
    if key is None:
        raise unauthorized("Invalid or revoked API key")
    keys.touch(key)
    rate_limit("key", key.id)
    return Caller(org_id=key.tenant.id, key_id=key.id)


def from_org_header(org: str) -> Caller:
    """Direct engine mode: the org `X-Org-Id` names (its name or tenant id); 401 when the mode
    is off (the default) or no such org exists."""
    if not runtime.settings().hyphen_direct_engine_mode:
        raise unauthorized(
            "Direct engine mode (X-Org-Id) is disabled on this server; use "
            "Authorization: Bearer sk-hyp-..."
        )
    tenant = Tenant.get_or_none(
        (Tenant.surface == SURFACE) & ((Tenant.name == org) | (Tenant.id == org))
    )
    if tenant is None:
        raise unauthorized("X-Org-Id names no org")
    rate_limit("org", tenant.id)
    return Caller(org_id=tenant.id, key_id=DIRECT)


def actor(caller: Caller) -> str:
    """How audits name the caller: the key id (or `x-org-id`)."""
    return caller.key_id
