"""Studio roles and the one rule every route enforces: `require(member, role, project=None)`.

Org roles, highest first: owner > admin > builder > reviewer > viewer. A project's members
hold a project role from the same list. The effective role in a project is the higher of the
project role and, for org owners and admins, their org role; org builders, reviewers and
viewers see only the projects they belong to (any other project is not found, like another
org's).
"""

from __future__ import annotations

from agentyard.core.errors import ApiError, not_found
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.models import Project, ProjectMember

ROLES = ("viewer", "reviewer", "builder", "admin", "owner")  # lowest first
# Org roles that carry into every project of the org.
ORG_WIDE = ("admin", "owner")


def rank(role: str | None) -> int:
    """The role's rank (-1 for none)."""
    return ROLES.index(role) if role in ROLES else -1


def at_least(role: str | None, least: str) -> bool:
    return rank(role) >= rank(least)


def highest(*roles: str | None) -> str | None:
    ranked = [r for r in roles if r in ROLES]
    return max(ranked, key=rank) if ranked else None


def project_role(member: Member, project: Project) -> str | None:
    """The member's effective role in `project` (None: the project is not theirs to see)."""
    if project.tenant_id != member.org.id:
        return None
    row = ProjectMember.get_or_none(
        (ProjectMember.project == project) & (ProjectMember.user == member.user_id)
    )
    org_wide = member.role if member.role in ORG_WIDE else None
    return highest(row.role if row else None, org_wide)


def refused(role: str, scope: str) -> ApiError:
    return ApiError(
        403,
        "FORBIDDEN",
        f"This needs the {scope} role {role} or higher",
        details={"required_role": role, "scope": scope},
    )


def require(member: Member, role: str, project: Project | None = None) -> str:
    """The member's role (the org role, or the effective role in `project`) when it is at
    least `role`; else 403 FORBIDDEN with `details.required_role`. A project the member cannot
    see → 404, exactly as another org's."""
    if project is None:
        if not at_least(member.role, role):
            raise refused(role, "org")
        return member.role
    effective = project_role(member, project)
    if effective is None:
        raise not_found("project", project.id)
    if not at_least(effective, role):
        raise refused(role, "project")
    return effective


def require_in(member: Member, role: str, project: Project, what: str, ident: str) -> str:
    """`require` for an object of `project`: when the member cannot see the project, the
    404 names the object (`what` `ident`), not its project."""
    try:
        return require(member, role, project)
    except ApiError as exc:
        if exc.status == 404:
            raise not_found(what, ident) from None
        raise


def require_org(member: Member, org_id: str, role: str) -> str:
    """For `/orgs/{org_id}/...` routes: 404 unless `org_id` is the member's org (another org
    is not found), then `require(member, role)`."""
    if org_id != member.org_id:
        raise not_found("organization", org_id)
    return require(member, role)


def find_project(member: Member, project_id: str, role: str) -> tuple[Project, str]:
    """The org's project `project_id` and the member's effective role, once `require` passed."""
    project = Project.get_or_none((Project.id == project_id) & (Project.tenant == member.org.id))
    if project is None:
        raise not_found("project", project_id)
    return project, require(member, role, project)
