"""API keys of an organization: create (shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from agentyard.core import clock, keys, paging
from agentyard.core.errors import ApiError
from agentyard.core.keys import ApiKey
from agentyard.core.store import write
from agentyard.core.tenancy import find_in_tenant
from agentyard.hasp import SURFACE, cursors, events
from agentyard.hasp.auth import Caller, new_secret


def view(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "last_four": key.last_four,
        "scopes": key.scope_list,
        "last_used_at": clock.iso(key.last_used_at),
        "created_at": clock.iso(key.created_at),
        "revoked_at": clock.iso(key.revoked_at),
    }


def create(caller: Caller, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    """Mint a key; it may not grant a scope its creator's key lacks."""
    for scope in scopes:
        if scope not in caller.scopes:
            raise ApiError(
                403,
                "MISSING_SCOPE",
                f"A key cannot grant {scope}, which the creating key lacks",
                details={"required_scope": scope},
            )
    with write():
        key, secret = keys.create_key(caller.org, new_secret, name=name, scopes=scopes)
        events.emit(caller, "api_key.created", "api_key", key.id, {"name": name, "scopes": scopes})
    return key, secret


def list_page(
    caller: Caller, cursor: str | None, limit: int
) -> tuple[list[ApiKey], str | None, bool]:
    query = ApiKey.select().where((ApiKey.tenant == caller.org) & (ApiKey.surface == SURFACE))
    rows, after, more = paging.newest_first(
        query, ApiKey.created_at, ApiKey.id, cursors.rows_to_core(cursor), limit
    )
    return rows, cursors.rows_from_core(after), more


def revoke(caller: Caller, key_id: str) -> ApiKey:
    """Revoke the org's key `key_id` (idempotent); 404 when the org has no such key."""
    with write():
        key = find_in_tenant(
            ApiKey, key_id, caller.org, what="API key", where=ApiKey.surface == SURFACE
        )
        if key.revoked_at is None:
            key.revoked_at = clock.now()
            key.save()
            events.emit(caller, "api_key.revoked", "api_key", key.id, {"name": key.name})
    return key
