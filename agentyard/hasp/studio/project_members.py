"""A project's members: list, add an org user or invite an email, change role, remove.

Rules: only a project owner grants, changes or removes `owner`; no one grants a role above
their own; the last owner can be neither demoted nor removed (409 LAST_OWNER); writes to an
archived project → 409.
"""

from __future__ import annotations

from typing import Any

import peewee

from agentyard.core import clock, ids, paging
from agentyard.core.errors import not_found
from agentyard.core.store import write
from agentyard.hasp import cursors
from agentyard.hasp.studio import audit, invites, roles, users
from agentyard.hasp.studio.errors import conflict, invalid
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.models import Project, ProjectMember, StudioUser
from agentyard.hasp.studio.projects import writable


def view(row: ProjectMember) -> dict[str, Any]:
    user = row.user
    pending = user.status == "pending"
    return {
        "user_id": user.id,
        "email": user.email,
        "name": user.name,
        "role": row.role,
        "org_role": user.role,
        "status": user.status,
        "added_at": clock.iso(row.created_at),
        "invite_expires_at": clock.iso(invites.pending_expiry(user.id)) if pending else None,
    }


def list_page(
    member: Member, project_id: str, cursor: str | None, limit: int
) -> tuple[list[ProjectMember], str | None, bool]:
    project, _ = roles.find_project(member, project_id, "viewer")
    query = (
        ProjectMember.select(ProjectMember, StudioUser)
        .join(StudioUser)
        .where(ProjectMember.project == project)
    )
    rows, after, more = paging.newest_first(
        query, ProjectMember.created_at, ProjectMember.id, cursors.rows_to_core(cursor), limit
    )
    return rows, cursors.rows_from_core(after), more


def _may_grant(member_role: str, role: str) -> None:
    if role == "owner" and member_role != "owner":
        raise roles.refused("owner", "project")
    if roles.rank(role) > roles.rank(member_role):
        raise roles.refused(role, "project")


def _owners(project: Project) -> int:
    return int(
        ProjectMember.select()
        .where((ProjectMember.project == project) & (ProjectMember.role == "owner"))
        .count()
    )


def _membership(project: Project, user_id: str) -> ProjectMember:
    row = (
        ProjectMember.select(ProjectMember, StudioUser)
        .join(StudioUser)
        .where((ProjectMember.project == project) & (ProjectMember.user == user_id))
        .first()
    )
    if row is None:
        raise not_found("member", user_id)
    return row


def add(
    member: Member,
    project_id: str,
    role: str,
    *,
    user_id: str | None,
    email: str | None,
    name: str,
    base_url: str,
) -> ProjectMember:
    """Add an org user (by id or email) or invite an unknown email (project admin)."""
    project, mine = roles.find_project(member, project_id, "admin")
    writable(project, authoring=False)
    if (user_id is None) == (email is None):
        raise invalid("Give exactly one of user_id or email")
    _may_grant(mine, role)
    invited = False
    if user_id is not None:
        user = StudioUser.get_or_none(
            (StudioUser.id == user_id) & (StudioUser.tenant == member.org_id)
        )
        if user is None:
            raise not_found("user", user_id)
    else:
        user = users.by_email(users.normal_email(str(email)))
        if user is not None and user.tenant_id != member.org_id:
            raise conflict("This email belongs to an account of another organization")
        if user is None:
            user, _ = invites.invite(member.org, str(email), name, base_url)
            invited = True
    try:
        with write():
            row = ProjectMember.create(
                id=ids.new_id("pm"), project=project, user=user, role=role, created_at=clock.now()
            )
            audit.record(
                member, "project.member_added", "member", user.id,
                project_id=project.id, after={"user_id": user.id, "role": role}, invited=invited,
            )  # fmt: skip
    except peewee.IntegrityError as exc:
        raise conflict("This user is a member of the project already") from exc
    row.user = user
    return row


def update(member: Member, project_id: str, user_id: str, role: str) -> ProjectMember:
    """Change a member's project role (project admin; owner changes need a project owner)."""
    project, mine = roles.find_project(member, project_id, "admin")
    writable(project, authoring=False)
    with write():
        row = _membership(project, user_id)
        if row.role == "owner" or role == "owner":
            _may_grant(mine, "owner")
        _may_grant(mine, role)
        if row.role == "owner" and role != "owner" and _owners(project) <= 1:
            raise conflict("The project's last owner cannot be demoted", "LAST_OWNER")
        before = {"user_id": user_id, "role": row.role}
        row.role = role
        row.save()
        audit.record(
            member, "project.member_updated", "member", user_id,
            project_id=project.id, before=before, after={"user_id": user_id, "role": role},
        )  # fmt: skip
    return row


def remove(member: Member, project_id: str, user_id: str) -> ProjectMember:
    """Remove a member (project admin, or the member themselves); never the last owner."""
    least = "viewer" if user_id == member.user_id else "admin"
    project, mine = roles.find_project(member, project_id, least)
    writable(project, authoring=False)
    with write():
        row = _membership(project, user_id)
        if row.role == "owner":
            if user_id != member.user_id:
                _may_grant(mine, "owner")
            if _owners(project) <= 1:
                raise conflict("The project's last owner cannot be removed", "LAST_OWNER")
        row.delete_instance()
        audit.record(
            member, "project.member_removed", "member", user_id,
            project_id=project.id, before={"user_id": user_id, "role": row.role},
        )  # fmt: skip
    return row
