"""Who is calling Hyphen: an org API key (`sk-hyp-`, gateway mode) or, when the operator
enabled direct engine mode, an `X-Org-Id` header naming the org; and what each key's
permission lets it do (`PERMISSIONS`, the one table `allows()` reads).

Orgs are core tenants of the `hyphen` key space; `Caller.org_id` is the tenant's id, the
column every Hyphen table scopes its rows by.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentyard.core import keys, runtime
from agentyard.core.errors import forbidden, unauthorized
from agentyard.core.keys import Tenant
from agentyard.hyphen import SURFACE, usage

PREFIX = "sk-hyp-"
DIRECT = "x-org-id"  # Caller.key_id of a direct engine mode request


FULL, READ_ONLY, EXECUTE_ONLY = "full", "read_only", "execute_only"

# What each key permission allows, by HTTP method and operation. A key's permission is its
# one scope (`read_only`, `execute_only`); a key without one (CLI keys, keys minted before
# permissions existed) is `full`. `reads` are the methods that change nothing; `operations`
# the operationIds allowed whatever their method (None: any).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# POST operations that only compute an answer from their body and write nothing.
READING_POSTS = frozenset({"generateDag"})
# What an execute_only key may do: start runs, and read runs (their status, agent traces).
# Not AI generation: generating and create-from-ai are writes (read_only keys may only read
# their status and results, execute_only keys none of it).
EXECUTE_OPERATIONS = frozenset(
    {
        "executeWorkflow",
        "getRunStatus",
        "executeAgent",
        "listAgents",
        "getAgentStatus",
        "getAgentTrace",
    }
)
PERMISSIONS: dict[str, str] = {
    FULL: "every operation",
    READ_ONLY: "GET operations only (and the read-only POST /utils/generate-dag)",
    EXECUTE_ONLY: "executing workflows and agents, and reading runs and agent runs",
}


@dataclass(frozen=True)
class Caller:
    """An authenticated org: its tenant id, the key it used (`x-org-id` in direct mode) and
    that key's permission."""

    org_id: str
    key_id: str
    permission: str = FULL


def permission_of(scopes: list[str]) -> str:
    """A key's permission from its scopes (none: `full`)."""
    for scope in scopes:
        if scope in PERMISSIONS:
            return scope
    return FULL


def allows(permission: str, method: str, operation_id: str) -> bool:
    """Whether a key of `permission` may call `operation_id` (by HTTP `method`)."""
    if permission == READ_ONLY:
        return method.upper() in READ_METHODS or operation_id in READING_POSTS
    if permission == EXECUTE_ONLY:
        return operation_id in EXECUTE_OPERATIONS
    return permission == FULL


def enforce(caller: Caller, method: str, operation_id: str) -> None:
    """Count the request against its key and refuse (403) what its permission does not allow."""
    if caller.key_id != DIRECT:
        usage.record_request(caller.key_id, caller.org_id)
    if not allows(caller.permission, method, operation_id):
        raise forbidden(
            f"This key is {caller.permission}: it allows {PERMISSIONS[caller.permission]}, "
            f"not {operation_id or method}"
        )


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
    return Caller(org_id=key.tenant.id, key_id=key.id, permission=permission_of(key.scope_list))


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


def count_run(caller: Caller) -> None:
    """Count a run (workflow or agent) the caller's key started, for the gateway's usage."""
    if caller.key_id != DIRECT:
        usage.record_run(caller.key_id, caller.org_id)
