"""Grants: a session asks another for a capability; the grantor approves, denies or revokes.

In a grant, `requester` ("from") may use `grantor`'s ("to") capability — on the grantor's
memory keys matching `namespace` for the memory capabilities. A grant is in force while it is
`active` and unexpired; every check reads the store, so a revocation holds on the next request.
"""

from __future__ import annotations

import datetime as dt

from agentyard.aisp import messages
from agentyard.aisp.access import CAPABILITIES, MEMORY_CAPABILITIES
from agentyard.aisp.auth import Caller
from agentyard.aisp.models import Grant
from agentyard.aisp.sessions import find
from agentyard.aisp.views import grant_status, grant_view
from agentyard.core import clock, ids
from agentyard.core.errors import ApiError
from agentyard.core.store import write
from agentyard.core.tenancy import find_in_tenant


def _normalize_namespace(capability: str, namespace: str | None) -> str:
    if capability in MEMORY_CAPABILITIES:
        if not namespace:
            raise ApiError(400, "invalid_namespace", f"{capability} grants need a namespace")
        return namespace
    if namespace not in (None, "*"):
        raise ApiError(400, "invalid_namespace", f"{capability} grants take no namespace")
    return "*"


def request(
    caller: Caller,
    to: str,
    capability: str,
    namespace: str | None,
    expires_at: dt.datetime | None,
    reason: str | None,
) -> Grant:
    """Ask `to` for a grant. One whose `expires_at` has already passed is recorded as
    `expired` and never reaches the target."""
    me = caller.require_session()
    if capability not in CAPABILITIES:
        raise ApiError(400, "invalid_capability", f"Unknown capability: {capability}")
    namespace = _normalize_namespace(capability, namespace)
    if to == me.id:
        raise ApiError(400, "invalid_request", "A session cannot request a grant from itself")
    target = find(caller, to, active_only=True)
    with write():
        pending = [
            g
            for g in Grant.select().where(
                (Grant.requester == me.id)
                & (Grant.grantor == target.id)
                & (Grant.capability == capability)
                & (Grant.namespace == namespace)
                & (Grant.status == "pending")
            )
            if grant_status(g) == "pending"
        ]
        if pending:
            raise ApiError(
                409,
                "grant_pending",
                f"Identical grant already pending: {pending[0].id}",
                details={"grant_id": pending[0].id},
            )
        grant = Grant.create(
            id=ids.new_id("grant"),
            realm=caller.realm,
            requester=me.id,
            grantor=target.id,
            capability=capability,
            namespace=namespace,
            reason=reason,
            expires_at=expires_at,
            created_at=clock.now(),
        )
        if grant_status(grant) != "pending":  # its expires_at has passed: never in force
            return grant
        sent = messages.store(
            caller.realm, me.id, [target.id], "grant.request", {"grant": grant_view(grant)}
        )
    messages.notify(sent)
    return grant


def find_grant(caller: Caller, grant_id: str) -> Grant:
    return find_in_tenant(
        Grant,
        grant_id,
        caller.realm.id,
        what="grant",
        tenant_field="realm",
        code="grant_not_found",
        message=f"Grant not found: {grant_id}",
    )


def decide(caller: Caller, grant_id: str, approve: bool) -> Grant:
    """The grantor approves or denies a pending grant."""
    me = caller.require_session()
    with write():
        grant = find_grant(caller, grant_id)
        if grant.grantor != me.id:
            raise ApiError(403, "forbidden", "Only the session asked for the grant may decide it")
        if grant_status(grant) != "pending":
            raise ApiError(409, "grant_not_pending", f"Grant is {grant_status(grant)}, not pending")
        grant.status = "active" if approve else "denied"
        grant.decided_at = clock.now()
        grant.save()
        category = "grant.approved" if approve else "grant.denied"
        sent = messages.store(
            caller.realm, me.id, [grant.requester], category, {"grant": grant_view(grant)}
        )
    messages.notify(sent)
    return grant


def revoke(caller: Caller, grant_id: str) -> Grant:
    """The requester or the grantor ends a pending or active grant."""
    me = caller.require_session()
    with write():
        grant = find_grant(caller, grant_id)
        if me.id not in (grant.requester, grant.grantor):
            raise ApiError(403, "forbidden", "Only the issuer or recipient may revoke")
        if grant_status(grant) not in ("pending", "active"):
            raise ApiError(409, "grant_not_revocable", f"Grant is already {grant_status(grant)}")
        grant.status = "revoked"
        grant.decided_at = clock.now()
        grant.save()
        other = grant.grantor if me.id == grant.requester else grant.requester
        sent = messages.store(
            caller.realm, me.id, [other], "grant.revoked", {"grant": grant_view(grant)}
        )
    messages.notify(sent)
    return grant


def list_grants(
    caller: Caller, direction: str | None, limit: int, after: str | None
) -> list[Grant]:
    """Pending and active, unexpired grants the caller is party to, in id order."""
    me = caller.require_session()
    if direction == "incoming":
        party = Grant.grantor == me.id
    elif direction == "outgoing":
        party = Grant.requester == me.id
    else:
        party = (Grant.grantor == me.id) | (Grant.requester == me.id)
    now = clock.now()
    query = Grant.select().where(
        (Grant.realm == caller.realm.id)
        & party
        & (Grant.status << ["pending", "active"])
        & (Grant.expires_at.is_null() | (Grant.expires_at > now))
    )
    if after:
        query = query.where(Grant.id > after)
    return list(query.order_by(Grant.id).limit(limit))
