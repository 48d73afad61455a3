"""/gateway/orgs/{orgId}/sdk-keys: publishable keys and their users (Bearer mt-hyp-)."""

from __future__ import annotations

from typing import Any

from agentyard.hyphen import sdk
from handlers.hyphen.security import manager


def createSdkKey(org_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """A new publishable key; the secret is shown once."""
    scopes = sdk.check_scopes(
        body.get("allowed_origins") or [],
        body.get("allowed_workflows") or [],
        body.get("allowed_tables") or [],
        body.get("allowed_actions") or [],
        body.get("rate_limit_per_minute"),
    )
    key, row, secret = sdk.create_key(manager(), org_id, body.get("label", ""), scopes)
    return {**sdk.key_view(key, row), "key": secret}, 201


def listSdkKeys(org_id: str) -> dict[str, Any]:
    """The org's publishable keys."""
    rows = sdk.org_keys(manager(), org_id)
    return {"keys": [sdk.key_view(k, r) for k, r in rows], "total": len(rows)}


def revokeSdkKey(org_id: str, key_id: str) -> dict[str, Any]:
    """Revoke a publishable key; its sessions end."""
    return sdk.key_view(*sdk.revoke_key(manager(), org_id, key_id))


def createSdkUser(org_id: str, key_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Pre-register a user who may sign in with an emailed code."""
    permissions = body.get("permissions") or []
    user = sdk.create_user(
        manager(),
        org_id,
        key_id,
        body["email"],
        body.get("role") or "member",
        body.get("display_name"),
        permissions,
    )
    return sdk.user_view(user), 201


def listSdkUsers(org_id: str, key_id: str) -> dict[str, Any]:
    """The key's users."""
    rows = sdk.users(manager(), org_id, key_id)
    return {"users": [sdk.user_view(u) for u in rows], "total": len(rows)}


def deleteSdkUser(org_id: str, key_id: str, user_id: str) -> dict[str, Any]:
    """Remove a user; their signed-in sessions end."""
    return sdk.user_view(sdk.delete_user(manager(), org_id, key_id, user_id))
