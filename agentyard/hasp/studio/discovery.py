"""Discovery: the org's apps and workflows galleries across the projects a member can see,
and the agentic-patterns catalogue (`patterns`).

Apps and workflows belong to the modules that keep them: each registers a `Gallery` source
(`register("apps", source)`, `register("workflows", source)`) answering a page of views for a
set of project ids. Discovery decides which projects the member may see (not archived; org
admins and owners see all, others their projects) and never imports those modules. With no
source registered a gallery is empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentyard.hasp.studio import roles
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.models import Project, ProjectMember

# source(project_ids, cursor, limit) → (views newest first, next cursor, has more)
Gallery = Callable[[list[str], str | None, int], tuple[list[dict[str, Any]], str | None, bool]]
GALLERIES = ("apps", "workflows")

_sources: dict[str, Gallery] = {}


def register(gallery: str, source: Gallery) -> None:
    """Make `source` answer the `gallery` ("apps" or "workflows")."""
    if gallery not in GALLERIES:
        raise ValueError(f"unknown gallery {gallery!r}")
    _sources[gallery] = source


def visible_project_ids(member: Member) -> list[str]:
    """The ids of the org's projects (not archived) the member can see."""
    query = Project.select(Project.id).where(
        (Project.tenant == member.org_id) & Project.archived_at.is_null()
    )
    if member.role not in roles.ORG_WIDE:
        mine = ProjectMember.select(ProjectMember.project).where(
            ProjectMember.user == member.user_id
        )
        query = query.where(Project.id.in_(mine))
    return [p.id for p in query]


def gallery(
    member: Member, org_id: str, name: str, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None, bool]:
    """A page of the `name` gallery (org viewer; `org_id` must be the member's org)."""
    roles.require_org(member, org_id, "viewer")
    source = _sources.get(name)
    projects = visible_project_ids(member)
    if source is None or not projects:
        return [], None, False
    return source(projects, cursor, limit)
