"""/gateway: signup, and the management routes of an account (`Bearer mt-hyp-...`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from connexion import request

from agentyard.core import clock
from agentyard.core.errors import invalid
from agentyard.hyphen import gateway, licensing, usage
from handlers.hyphen.security import manager

USAGE_MAX_DAYS = 366


def signup(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Gateway signup (no credential; limited per client address)."""
    client = request.client.host if request.client else "unknown"
    gateway.limit_signups(client)
    return gateway.signup(body["email"], body["name"]), 201


def getAccount() -> dict[str, Any]:
    """Tenant account."""
    return gateway.account_view(gateway.account(manager()))


def listOrgs() -> dict[str, Any]:
    """Tenant orgs."""
    rows = gateway.orgs(manager())
    return {"orgs": [gateway.org_view(r) for r in rows], "total": len(rows)}


def createOrg(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Create org."""
    return gateway.org_view(gateway.create_org(manager(), body["name"])), 201


def listOrgKeys(org_id: str) -> dict[str, Any]:
    """Org keys."""
    rows = gateway.org_keys(manager(), org_id)
    return {"keys": [gateway.key_view(k) for k in rows], "total": len(rows)}


def createOrgKey(org_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Create org key (the secret is shown once)."""
    key, secret = gateway.create_key(
        manager(), org_id, body.get("label", ""), body.get("permissions", "full")
    )
    return {**gateway.key_view(key), "key": secret}, 201


def getOrgUsage(org_id: str, since: str | None = None, until: str | None = None) -> dict[str, Any]:
    """Org usage: requests and runs per key and UTC day (default: the last 30 days)."""
    org = gateway.find_org(manager(), org_id)
    today = clock.now().date()
    end = _date(until, "until") if until else today
    start = _date(since, "since") if since else end - dt.timedelta(days=29)
    if start > end:
        raise invalid("since must not be after until")
    if (end - start).days >= USAGE_MAX_DAYS:
        raise invalid(f"at most {USAGE_MAX_DAYS} days at a time")
    rows = usage.report(org.org_id, start, end)
    return {
        "org_id": org.org_id,
        "since": start.isoformat(),
        "until": end.isoformat(),
        "usage": rows,
        "totals": {
            "requests": sum(r["requests"] for r in rows),
            "runs": sum(r["runs"] for r in rows),
        },
    }


def listLicenses() -> dict[str, Any]:
    """Licenses of the account's orgs, newest first."""
    rows = licensing.of_orgs([o.org_id for o in gateway.orgs(manager())])
    return {"licenses": [licensing.view(r) for r in rows], "total": len(rows)}


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise invalid(f"{name} must be a date, YYYY-MM-DD") from exc


def regenerateToken() -> dict[str, Any]:
    """Regenerate the management token (the one used stops working)."""
    return {"management_token": gateway.regenerate_token(manager())}


def updateOrg(org_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Rename an org."""
    return gateway.org_view(gateway.rename_org(manager(), org_id, body["name"]))


def revokeOrgKey(org_id: str, key_id: str) -> dict[str, Any]:
    """Revoke an org key."""
    return gateway.key_view(gateway.revoke_key(manager(), org_id, key_id))


def rotateOrgKey(org_id: str, key_id: str) -> tuple[dict[str, Any], int]:
    """Rotate an org key: a new secret, same label and permissions; the old key is revoked."""
    key, secret = gateway.rotate_key(manager(), org_id, key_id)
    return {**gateway.key_view(key), "key": secret}, 201
