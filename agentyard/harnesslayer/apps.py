"""Apps: the runtime entry point of a Harnesslayer product, found by display id or slug."""

from __future__ import annotations

import json
import logging
from typing import Any

from agentyard.core import clock, ids, jobs
from agentyard.core.errors import ApiError
from agentyard.core.store import Prepared, write
from agentyard.core.tenancy import found
from agentyard.harnesslayer import bundle_models, pages, people_models, run_models
from agentyard.harnesslayer.auth import OrgCaller
from agentyard.harnesslayer.models import AccessGroup, App, Profile
from agentyard.harnesslayer.orgs import check_slug

log = logging.getLogger("agentyard.harnesslayer.apps")


def view(app: App) -> dict[str, Any]:
    return {
        "id": app.id,
        "organizationId": app.organization_id,
        "slug": app.slug,
        "name": app.name,
        "type": app.type,
        "headVersionId": app.head_version_id,
        "defaultAccessGroupId": app.default_access_group_id,
        "hasCredentials": app.credentials is not None,
        "createdAt": clock.iso(app.created_at),
        "updatedAt": clock.iso(app.updated_at),
    }


def _live(caller: OrgCaller) -> Any:
    return _live_in(caller.organization)


def _live_in(organization: Any) -> Any:
    """The apps of `organization` (a row or its id) not deleted."""
    return (App.organization == organization) & (App.deleted_at.is_null())


def find(caller: OrgCaller, id_or_slug: str) -> App:
    """A live app of the caller's organization by display id or slug; 404 otherwise."""
    return found(
        App.get_or_none(_live(caller) & ((App.id == id_or_slug) | (App.slug == id_or_slug))),
        "app",
        id_or_slug,
    )


def create(caller: OrgCaller, body: dict[str, Any]) -> tuple[App, bool]:
    """(app, created?). `limit` creates the app's default access group."""
    slug = body["slug"]
    check_slug(slug)
    credentials = body.get("credentials")
    if credentials and body["type"] != "claude":
        raise ApiError(400, "bad_request", "credentials are for claude apps only")
    now = clock.now()
    with write():
        existing = App.get_or_none(_live(caller) & (App.slug == slug))
        if existing is not None:
            if body.get("returnIfExist"):
                return existing, False
            raise ApiError(409, "conflict", f"An app with slug {slug!r} already exists")
        app = App.create(
            id=ids.new_id("app", "-"),
            organization=caller.organization,
            slug=slug,
            name=body.get("name") or slug,
            type=body["type"],
            credentials=json.dumps(credentials) if credentials else None,
            created_at=now,
            updated_at=now,
        )
        limit = body.get("limit")
        if limit:
            group = AccessGroup.create(
                id=ids.new_id("ag", "-"),
                app=app,
                name=limit.get("name") or "Default",
                limit=limit["amount"],
                limit_reset=limit["interval"],
                limit_message=limit.get("message"),
                is_default=True,
                created_at=now,
                updated_at=now,
            )
            app.default_access_group_id = group.id
            app.save()
    return app, True


# the plain app list (every list request without `appId`): SQL compiled once
_ORG_APPS: Prepared[App] = Prepared(
    lambda org_id, limit, offset: (
        pages.newest_first(App.select().where(_live_in(org_id)), App.created_at, App.id)
        .limit(limit)
        .offset(offset)
    )
)


def list_page(caller: OrgCaller, app_id: str | None, page: int, size: int) -> dict[str, Any]:
    query = App.select().where(_live(caller))
    if app_id:  # the seed's implementation requires it; here it is an optional filter
        query = query.where((App.id == app_id) | (App.slug == app_id))
        return pages.page(query, App.created_at, App.id, page, size, view)
    rows = _ORG_APPS(caller.organization.id, size, pages.offset(page, size))
    return pages.shaped(query, rows, page, size, view)


def update(caller: OrgCaller, id_or_slug: str, changes: dict[str, Any]) -> App:
    with write():
        app = find(caller, id_or_slug)
        slug = changes.get("slug")
        if slug and slug != app.slug:
            check_slug(slug)
            if App.select().where(_live(caller) & (App.slug == slug)).exists():
                raise ApiError(409, "conflict", f"An app with slug {slug!r} already exists")
            app.slug = slug
        if "name" in changes:
            app.name = changes["name"]
        app.updated_at = clock.now()
        app.save()
    return app


@jobs.task(name="harnesslayer.delete_app", retries=3, retry_delay=10)
def delete_app_records(app_id: str) -> None:
    """Remove a deleted app's records, then the blob files nothing else uses any more."""
    with write():
        people_models.delete_for_app(app_id)  # webhooks, run counters (before their parents)
        run_models.delete_app_rows(app_id)  # channels, sessions, instances, events
        digests = bundle_models.delete_app_rows(app_id)  # uploads, versions, states, history
        Profile.delete().where(Profile.app == app_id).execute()
        AccessGroup.delete().where(AccessGroup.app == app_id).execute()
        App.delete().where((App.id == app_id) & (App.deleted_at.is_null(False))).execute()
    removed = bundle_models.collect_blobs(digests)
    log.info("app %s and its records deleted (%d blob files freed)", app_id, removed)


def delete(caller: OrgCaller, id_or_slug: str) -> App:
    """Mark the app deleted at once (404 from now on, slug freed); a job removes the rest."""
    with write():
        app = find(caller, id_or_slug)
        app.deleted_at = clock.now()
        app.save()
    delete_app_records(app.id)
    return app
