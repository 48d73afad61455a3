"""Project policies: PHI handling (never looser than the org's), allowed models, retention.

The effective PHI mode of a project is the stricter of the org's `phi_mode` and the project's
own setting, so tightening the org later tightens every project; setting a project mode
looser than the org's is refused (422 PHI_POLICY_LOOSER_THAN_ORG, HASP's status for a rule
the schema cannot state). Allowed models name the org's model catalogue (`orgs.models_of`);
an empty list allows every model the org may use.
"""

from __future__ import annotations

from typing import Any

from agentyard.core import clock
from agentyard.core.errors import ApiError
from agentyard.core.store import write
from agentyard.hasp import orgs
from agentyard.hasp.studio import audit, projects, roles
from agentyard.hasp.studio.errors import invalid
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.models import Project
from agentyard.hasp.studio.policy_models import ProjectPolicy


def _row(project: Project) -> ProjectPolicy:
    row = ProjectPolicy.get_or_none(ProjectPolicy.project == project.id)
    return row if row is not None else ProjectPolicy(project=project.id, allowed_models=[])


def view(project: Project, row: ProjectPolicy | None = None) -> dict[str, Any]:
    """The policy as served: effective mode, where it comes from, the org's mode."""
    row = row or _row(project)
    org_mode = orgs.settings_of(project.tenant).phi_mode
    effective = orgs.stricter(org_mode, row.phi_mode) if row.phi_mode else org_mode
    return {
        "project_id": project.id,
        "phi_mode": effective,
        "phi_mode_setting": row.phi_mode,
        "org_phi_mode": org_mode,
        "allowed_models": list(row.allowed_models or []),
        "retention_days": row.retention_days,
        "updated_at": clock.iso(row.updated_at),
    }


def effective(project: Project) -> dict[str, Any]:
    """What the rest of the product enforces for `project` (same shape as `view`)."""
    return view(project)


def get(member: Member, project_id: str) -> dict[str, Any]:
    project, _ = roles.find_project(member, project_id, "viewer")
    return view(project)


def _check_models(member: Member, models: list[str]) -> list[str]:
    offered = orgs.models_of(member.org)
    unique = list(dict.fromkeys(models))
    unknown = [m for m in unique if m not in offered]
    if unknown:
        raise invalid(
            f"Not in the organization's model catalogue: {', '.join(unknown)} "
            f"(available: {', '.join(offered) or 'none'})",
            "allowed_models",
        )
    return unique


def update(member: Member, project_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply `phi_mode` (None: follow the org), `allowed_models`, `retention_days` (project
    admin; not archived); audited with the policy before and after."""
    project, _ = roles.find_project(member, project_id, "admin")
    projects.writable(project)
    org_mode = orgs.settings_of(member.org).phi_mode
    mode = changes.get("phi_mode")
    if mode is not None and orgs.PHI_STRICTNESS.index(mode) < orgs.PHI_STRICTNESS.index(org_mode):
        raise ApiError(
            422,
            "PHI_POLICY_LOOSER_THAN_ORG",
            f"A project's PHI mode may be as strict as the organization's ({org_mode}) or "
            f"stricter, never looser: {mode!r} is looser (allow < redact < block)",
            details={"param": "phi_mode", "org_phi_mode": org_mode},
        )
    models = (
        _check_models(member, changes["allowed_models"]) if "allowed_models" in changes else None
    )
    with write():
        # One row per project, made once even when two first changes race.
        ProjectPolicy.insert(project=project.id, allowed_models=[]).on_conflict_ignore().execute()
        row = ProjectPolicy.get(ProjectPolicy.project == project.id)
        before = view(project, row)
        if "phi_mode" in changes:
            row.phi_mode = mode
        if models is not None:
            row.allowed_models = models
        if "retention_days" in changes:
            row.retention_days = changes["retention_days"]
        row.updated_at = clock.now()
        row.updated_by = member.user_id
        row.save()
        after = view(project, row)
        audit.record(
            member, "policy.updated", "project_policy", project.id,
            project_id=project.id, before=before, after=after,
        )  # fmt: skip
    return after
