"""The org policies Studio sets: the PHI policy (the org core's `phi_mode`, which the AI
gateway enforces on `/hasp-ai/v1/messages`, and who may see traces unredacted:
`elevation_role`, the least role — None, the default, disables elevation — and
`elevation_minutes`, how long an elevated view lasts; see `traces.elevate`) and the release
floor (minimum approvals, whether a requester may approve their own release), read by release
requests through `release_floor`.

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
from agentyard.hasp.studio.trace_models import PhiElevationPolicy

DEFAULT_MIN_APPROVALS = 1
DEFAULT_ELEVATION_MINUTES = 15


def elevation_policy(org_id: str) -> dict[str, Any]:
    """The org's PHI elevation fields (default: elevation disabled, 15-minute views)."""
    row = PhiElevationPolicy.get_or_none(PhiElevationPolicy.tenant == org_id)
    return {
        "elevation_role": row.elevation_role if row else None,
        "elevation_minutes": row.elevation_minutes if row else DEFAULT_ELEVATION_MINUTES,
    }


def _set_elevation(org_id: str, user_id: str, changes: dict[str, Any]) -> None:
    PhiElevationPolicy.insert(tenant=org_id).on_conflict_ignore().execute()
    row = PhiElevationPolicy.get_by_id(org_id)
    if "elevation_role" in changes:
        row.elevation_role = changes["elevation_role"]
    if changes.get("elevation_minutes") is not None:
        row.elevation_minutes = changes["elevation_minutes"]
    row.updated_at, row.updated_by = clock.now(), user_id
    row.save()


def phi_view(org: Tenant) -> dict[str, Any]:
    row = orgs.settings_of(org)
    elevation = PhiElevationPolicy.get_or_none(PhiElevationPolicy.tenant == org.id)
    stamps = [t for t in (row.updated_at, elevation.updated_at if elevation else None) if t]
    return {
        "phi_mode": row.phi_mode,
        **elevation_policy(str(org.id)),
        "updated_at": clock.iso(max(stamps)) if stamps else None,
    }


def get_phi(member: Member, org_id: str) -> dict[str, Any]:
    roles.require_org(member, org_id, "viewer")
    return phi_view(member.org)


def update_phi(member: Member, org_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Set the fields given in `changes`: `phi_mode` (the gateway's very next call enforces
    it), `elevation_role`, `elevation_minutes`."""
    roles.require_org(member, org_id, "admin")
    with write():
        before = phi_view(member.org)
        if changes.get("phi_mode") is not None:
            orgs.update(member.org, {"phi_mode": changes["phi_mode"]})
        elevation = {k: v for k, v in changes.items() if k.startswith("elevation_")}
        if elevation:
            _set_elevation(member.org_id, member.user_id, elevation)
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
