"""The org policies Studio sets: the PHI policy (the org core's `phi_mode`, which the AI
gateway enforces on `/hasp-ai/v1/messages`) and the release floor (minimum approvals, whether
a requester may approve their own release), read by release requests through `release_floor`.

Reading needs org viewer, changing org admin; `{org_id}` must be the member's org (else 404);
every change is audited with before and after.
"""

from __future__ import annotations

from typing import Any

from agentyard.core import clock
from agentyard.core.keys import Tenant
from agentyard.core.store import write
from agentyard.hasp import orgs
from agentyard.hasp.studio import audit, roles
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.policy_models import ReleasePolicy

DEFAULT_MIN_APPROVALS = 1


def phi_view(org: Tenant) -> dict[str, Any]:
    row = orgs.settings_of(org)
    return {"phi_mode": row.phi_mode, "updated_at": clock.iso(row.updated_at)}


def get_phi(member: Member, org_id: str) -> dict[str, Any]:
    roles.require_org(member, org_id, "viewer")
    return phi_view(member.org)


def update_phi(member: Member, org_id: str, phi_mode: str) -> dict[str, Any]:
    """Set the org's `phi_mode` (the gateway's very next call enforces it)."""
    roles.require_org(member, org_id, "admin")
    with write():
        before = phi_view(member.org)
        orgs.update(member.org, {"phi_mode": phi_mode})
        after = phi_view(member.org)
        audit.record(
            member, "org.phi_policy.updated", "organization", member.org_id,
            before=before, after=after,
        )  # fmt: skip
    return after


def _release_row(org_id: str) -> ReleasePolicy:
    row = ReleasePolicy.get_or_none(ReleasePolicy.tenant == org_id)
    return row if row is not None else ReleasePolicy(tenant=org_id)


def release_view(row: ReleasePolicy) -> dict[str, Any]:
    return {
        "min_approvals": row.min_approvals if row.min_approvals is not None else 1,
        "allow_self_approval": bool(row.allow_self_approval),
        "updated_at": clock.iso(row.updated_at),
    }


def release_floor(org_id: str) -> dict[str, Any]:
    """The org's release floor (defaults: one approval, no self-approval)."""
    return release_view(_release_row(org_id))


def get_release(member: Member, org_id: str) -> dict[str, Any]:
    roles.require_org(member, org_id, "viewer")
    return release_floor(member.org_id)


def update_release(member: Member, org_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    roles.require_org(member, org_id, "admin")
    with write():
        ReleasePolicy.insert(tenant=member.org_id).on_conflict_ignore().execute()
        row = ReleasePolicy.get(ReleasePolicy.tenant == member.org_id)
        before = release_view(row)
        if changes.get("min_approvals") is not None:
            row.min_approvals = changes["min_approvals"]
        if changes.get("allow_self_approval") is not None:
            row.allow_self_approval = changes["allow_self_approval"]
        row.updated_at = clock.now()
        row.updated_by = member.user_id
        row.save()
        after = release_view(row)
        audit.record(
            member, "org.release_policy.updated", "organization", member.org_id,
            before=before, after=after,
        )  # fmt: skip
    return after
