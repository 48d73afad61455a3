"""Apps of a project: create and list. An app's id (`app_<ulid>`) is what hasp-ai
`/v1/webhooks` registrations name as `app_id`; slugs are unique within the project."""

from __future__ import annotations

from typing import Any

import peewee

from agentyard.core import clock, ids, paging
from agentyard.core.store import write
from agentyard.hasp import cursors
from agentyard.hasp.studio import audit, discovery, projects, roles
from agentyard.hasp.studio.errors import conflict
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.workflow_models import StudioApp


def view(app: StudioApp) -> dict[str, Any]:
    return {
        "id": app.id,
        "project_id": app.project_id,
        "name": app.name,
        "slug": app.slug,
        "description": app.description,
        "created_at": clock.iso(app.created_at),
        "updated_at": clock.iso(app.updated_at),
    }


def create(
    member: Member, project_id: str, name: str, slug: str | None, description: str
) -> StudioApp:
    """A new app in the project (project builder; not archived); a taken slug → 409."""
    project, _ = roles.find_project(member, project_id, "builder")
    projects.writable(project)
    chosen = slug or projects.slug_of(name)
    now = clock.now()
    try:
        with write():
            if (
                StudioApp.select()
                .where((StudioApp.project == project) & (StudioApp.slug == chosen))
                .exists()
            ):
                raise conflict(f"The app slug {chosen!r} is taken in this project")
            app = StudioApp.create(
                id=ids.new_id("app"), tenant=member.org_id, project=project, name=name.strip(),
                slug=chosen, description=description, created_by=member.user_id,
                created_at=now, updated_at=now,
            )  # fmt: skip
            audit.record(
                member, "app.created", "app", app.id, project_id=project.id, after=view(app)
            )
    except peewee.IntegrityError as exc:
        raise conflict(f"The app slug {chosen!r} is taken in this project") from exc
    return app


def list_page(
    member: Member, project_id: str, cursor: str | None, limit: int
) -> tuple[list[StudioApp], str | None, bool]:
    """The project's apps, newest first (project viewer)."""
    project, _ = roles.find_project(member, project_id, "viewer")
    query = StudioApp.select().where(StudioApp.project == project)
    rows, after, more = paging.newest_first(
        query, StudioApp.created_at, StudioApp.id, cursors.rows_to_core(cursor), limit
    )
    return rows, cursors.rows_from_core(after), more


def gallery(
    project_ids: list[str], cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None, bool]:
    """The discovery gallery: a page of the apps of these projects, newest first."""
    query = StudioApp.select().where(StudioApp.project.in_(project_ids))
    rows, after, more = paging.newest_first(
        query, StudioApp.created_at, StudioApp.id, cursors.rows_to_core(cursor), limit
    )
    return [view(r) for r in rows], cursors.rows_from_core(after), more


discovery.register("apps", gallery)
