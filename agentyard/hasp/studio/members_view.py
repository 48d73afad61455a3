"""What `GET /api/internal/auth/me` and sign-in answer about a member."""

from __future__ import annotations

from typing import Any

from agentyard.core import clock
from agentyard.hasp.studio import roles, sessions, users
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.models import Project, ProjectMember, StudioToken, StudioUser


def identity(user: StudioUser) -> dict[str, Any]:
    """The user and their org."""
    org = user.tenant
    return {"user": users.view(user), "org": {"id": org.id, "name": org.name}}


def me(member: Member) -> dict[str, Any]:
    """The member, their org, how they authenticated and their projects with their roles."""
    user = StudioUser.get_by_id(member.user_id)
    expires = None
    if member.auth == "session":
        session = sessions.session_of(member)
        expires = sessions.idle_deadline(session) if session else None
    else:
        token = StudioToken.get_or_none(StudioToken.id == member.auth_id)
        expires = token.expires_at if token else None
    query = Project.select().where(
        (Project.tenant == member.org_id) & Project.archived_at.is_null()
    )
    if member.role not in roles.ORG_WIDE:
        mine = ProjectMember.select(ProjectMember.project).where(
            ProjectMember.user == member.user_id
        )
        query = query.where(Project.id.in_(mine))
    projects = [
        {"id": p.id, "slug": p.slug, "role": roles.project_role(member, p)}
        for p in query.order_by(Project.created_at.desc()).limit(200)
    ]
    return {
        **identity(user),
        "auth": {"method": member.auth, "id": member.auth_id, "expires_at": clock.iso(expires)},
        "projects": projects,
    }
