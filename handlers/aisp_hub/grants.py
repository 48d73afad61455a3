"""/api/v1/grants: request, list, revoke, and the approve/deny extensions."""

from __future__ import annotations

from typing import Any

from agentyard.aisp import grants
from agentyard.aisp.views import grant_view
from agentyard.core import clock
from generated.aisp_hub.models import GrantRequest
from handlers.aisp_hub.security import caller


def requestGrant(body: dict[str, Any]) -> dict[str, Any]:
    req = GrantRequest.model_validate(body).root
    expires_at = clock.to_naive(req.expires_at) if req.expires_at else None
    grant = grants.request(caller(), req.to, req.capability, req.namespace, expires_at, req.reason)
    view = grant_view(grant)
    return {
        "grant_id": grant.id,
        "status": view["status"],
        "to": grant.grantor,
        "capability": grant.capability,
        "namespace": grant.namespace,
        "expires_at": view["expires_at"],
    }


def listGrants(
    direction: str | None = None, limit: int = 100, after: str | None = None
) -> dict[str, Any]:
    return {
        "grants": [grant_view(g) for g in grants.list_grants(caller(), direction, limit, after)]
    }


def revokeGrant(id_: str) -> dict[str, Any]:
    grant = grants.revoke(caller(), id_)
    return {"revoked": True, "grant_id": grant.id}


def approveGrant(id_: str) -> dict[str, Any]:
    return grant_view(grants.decide(caller(), id_, approve=True))


def denyGrant(id_: str) -> dict[str, Any]:
    return grant_view(grants.decide(caller(), id_, approve=False))
