"""Projects: create, list, get, update, archive. Archived projects are read-only (409
PROJECT_ARCHIVED on writes) and hidden from lists unless asked; slugs are unique per org.

While a release of the project is open (requested or approved) the project is soft-locked:
authoring writes (apps, workflows, entities and their schemas, the policy, webhooks) → 423
`PROJECT_LOCKED` naming the release. Data and access stay writable: records, runs, members,
inbound webhook receipts, webhook test sends and the project's name/slug/description, none of
which a release snapshots (`writable(project, authoring=False)`). Archiving is not a draft
change either: an archived project's open release can no longer be deployed (409
PROJECT_ARCHIVED)."""

from __future__ import annotations

import re
from typing import Any

import peewee

from agentyard.core import clock, ids, paging
from agentyard.core.errors import ApiError
from agentyard.core.store import write
from agentyard.hasp import cursors
from agentyard.hasp.studio import audit, roles
from agentyard.hasp.studio.errors import conflict
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.models import Project, ProjectMember
from agentyard.hasp.studio.release_models import OPEN_STATES, StudioRelease

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug_of(name: str) -> str:
    """A slug made from a name (`project` when nothing is left)."""
    return _NOT_SLUG.sub("-", name.lower()).strip("-")[:63].strip("-") or "project"


def view(project: Project, role: str | None = None) -> dict[str, Any]:
    return {
        "id": project.id,
        "org_id": project.tenant_id,
        "name": project.name,
        "slug": project.slug,
        "description": project.description,
        "archived": project.archived_at is not None,
        "archived_at": clock.iso(project.archived_at),
        "created_by": project.created_by,
        "created_at": clock.iso(project.created_at),
        "updated_at": clock.iso(project.updated_at),
        **({"role": role} if role else {}),
    }


def open_release(project_id: str) -> StudioRelease | None:
    """The project's open (requested or approved) release, if any."""
    return (
        StudioRelease.select()
        .where((StudioRelease.project == project_id) & StudioRelease.state.in_(OPEN_STATES))
        .first()
    )


def writable(project: Project, *, authoring: bool = True) -> Project:
    """`project` when it is not archived (else 409 PROJECT_ARCHIVED) and, for an authoring
    write, not soft-locked by an open release (else 423 PROJECT_LOCKED, `details.release_id`)."""
    if project.archived_at is not None:
        raise conflict(f"Project {project.id} is archived (read-only)", "PROJECT_ARCHIVED")
    release = open_release(project.id) if authoring else None
    if release is not None:
        raise ApiError(
            423,
            "PROJECT_LOCKED",
            f"Project {project.id} is locked while release {release.number} ({release.id}) is "
            f"{release.state}: deploy, reject or cancel it before changing the draft",
            details={"release_id": release.id, "state": release.state},
        )
    return project


def _slug_taken(org_id: str, slug: str, other_than: str | None = None) -> bool:
    query = Project.select().where((Project.tenant == org_id) & (Project.slug == slug))
    if other_than:
        query = query.where(Project.id != other_than)
    return bool(query.exists())


def _taken(slug: str) -> Exception:
    return conflict(f"The slug {slug!r} is taken in this organization")


def create(member: Member, name: str, slug: str | None, description: str) -> Project:
    """A new project of the member's org; its creator is its owner (needs org builder)."""
    roles.require(member, "builder")
    chosen = slug or slug_of(name)
    now = clock.now()
    try:
        with write():
            if _slug_taken(member.org_id, chosen):
                raise _taken(chosen)
            project = Project.create(
                id=ids.new_id("prj"),
                tenant=member.org_id,
                slug=chosen,
                name=name.strip(),
                description=description,
                created_by=member.user_id,
                created_at=now,
                updated_at=now,
            )
            ProjectMember.create(
                id=ids.new_id("pm"),
                project=project,
                user=member.user_id,
                role="owner",
                created_at=now,
            )
            audit.record(
                member, "project.created", "project", project.id,
                project_id=project.id, after=view(project),
            )  # fmt: skip
    except peewee.IntegrityError as exc:  # a concurrent create took the slug
        raise _taken(chosen) from exc
    return project


def list_page(
    member: Member, include_archived: bool, cursor: str | None, limit: int
) -> tuple[list[tuple[Project, str]], str | None, bool]:
    """The projects the member can see, newest first, each with the member's role in it."""
    query = Project.select().where(Project.tenant == member.org_id)
    if member.role not in roles.ORG_WIDE:
        mine = ProjectMember.select(ProjectMember.project).where(
            ProjectMember.user == member.user_id
        )
        query = query.where(Project.id.in_(mine))
    if not include_archived:
        query = query.where(Project.archived_at.is_null())
    rows, after, more = paging.newest_first(
        query, Project.created_at, Project.id, cursors.rows_to_core(cursor), limit
    )
    return (
        [(p, roles.project_role(member, p) or "viewer") for p in rows],
        cursors.rows_from_core(after),
        more,
    )


def get(member: Member, project_id: str) -> tuple[Project, str]:
    return roles.find_project(member, project_id, "viewer")


def update(member: Member, project_id: str, changes: dict[str, Any]) -> tuple[Project, str]:
    """Change name / slug / description (project admin; not archived)."""
    project, role = roles.find_project(member, project_id, "admin")
    writable(project, authoring=False)
    before = view(project)
    slug = changes.get("slug")
    try:
        with write():
            if slug and slug != project.slug and _slug_taken(member.org_id, slug, project.id):
                raise _taken(slug)
            for field in ("name", "slug", "description"):
                if changes.get(field) is not None:
                    value = changes[field]
                    setattr(project, field, value.strip() if field == "name" else value)
            project.updated_at = clock.now()
            project.save()
            audit.record(
                member, "project.updated", "project", project.id,
                project_id=project.id, before=before, after=view(project),
            )  # fmt: skip
    except peewee.IntegrityError as exc:
        raise _taken(str(slug)) from exc
    return project, role


def archive(member: Member, project_id: str) -> tuple[Project, str]:
    """Archive the project (project owner); archiving it again → 409."""
    project, role = roles.find_project(member, project_id, "owner")
    writable(project, authoring=False)
    before = view(project)
    with write():
        project.archived_at = project.updated_at = clock.now()
        project.save()
        audit.record(
            member, "project.archived", "project", project.id,
            project_id=project.id, before=before, after=view(project),
        )  # fmt: skip
    return project, role
