"""Profiles: an app's end users, one per external `identifier` among the app's live profiles.

A new profile joins the app's default access group unless told otherwise, and fires the app's
`profile.created` webhooks once its row has committed. `resolve_user()` is the run path's
get-or-create. Deleting a profile marks it at once (404 everywhere, identifier free) and a job
removes its records: cleanups other modules register (`register_cleanup`), then its own rows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import peewee

from agentyard.core import clock, ids, jobs
from agentyard.core.errors import ApiError
from agentyard.core.store import db, write
from agentyard.core.tenancy import found
from agentyard.harnesslayer import access_groups, apps, pages, webhooks
from agentyard.harnesslayer.auth import OrgCaller
from agentyard.harnesslayer.models import App, Profile
from agentyard.harnesslayer.people_models import RunUsage

log = logging.getLogger("agentyard.harnesslayer.profiles")

MAX_METADATA_BYTES = 16 * 1024

Cleanup = Callable[[str], None]
_cleanups: list[Cleanup] = []


def view(profile: Profile) -> dict[str, Any]:
    return {
        "id": profile.id,
        "appId": profile.app_id,
        "identifier": profile.identifier,
        "accessGroupId": profile.access_group_id,
        "metadata": profile.metadata,
        "headStateId": profile.head_state_id,
        "createdAt": clock.iso(profile.created_at),
        "updatedAt": clock.iso(profile.updated_at),
    }


def _check_metadata(metadata: dict[str, Any] | None) -> None:
    if metadata is None:
        return
    size = len(json.dumps(metadata, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_METADATA_BYTES:
        raise ApiError(
            400,
            "bad_request",
            f"metadata is {size} bytes serialized; at most {MAX_METADATA_BYTES} are allowed",
        )


def _live() -> Any:
    return Profile.deleted_at.is_null()


def _in_org(caller: OrgCaller) -> peewee.ModelSelect[Profile]:
    return (
        Profile.select(Profile, App)
        .join(App)
        .where(_live() & (App.organization == caller.organization) & (App.deleted_at.is_null()))
    )


def find(caller: OrgCaller, profile_id: str) -> Profile:
    """A live profile of the caller's organization by display id; 404 otherwise."""
    return found(_in_org(caller).where(Profile.id == profile_id).first(), "profile", profile_id)


def by_identifier(app: App, identifier: str) -> Profile | None:
    """The app's live profile with this identifier, if any."""
    return Profile.get_or_none((Profile.app == app) & (Profile.identifier == identifier) & _live())


def get(caller: OrgCaller, ref: str, app_ref: str | None = None) -> Profile:
    """By display id; with `app_ref`, by identifier within that app first, then display id."""
    if app_ref is None:
        return find(caller, ref)
    app = apps.find(caller, app_ref)
    return found(
        by_identifier(app, ref)
        or Profile.get_or_none((Profile.id == ref) & (Profile.app == app) & _live()),
        "profile",
        f"{ref} in app {app.slug}",
    )


def _insert(
    app: App, identifier: str, group_id: str | None, metadata: dict[str, Any] | None
) -> Profile | None:
    """A new profile, or None when a live one with this identifier appeared concurrently
    (the unique index decides; the savepoint keeps the caller's transaction usable)."""
    now = clock.now()
    try:
        with db.atomic():
            return Profile.create(
                id=ids.new_id("prof", "-"),
                app=app,
                identifier=identifier,
                metadata=metadata,
                access_group_id=group_id,
                created_at=now,
                updated_at=now,
            )
    except peewee.IntegrityError:
        return None


def _taken(identifier: str) -> ApiError:
    return ApiError(409, "conflict", f"A profile with identifier {identifier!r} already exists")


def create(caller: OrgCaller, body: dict[str, Any]) -> tuple[Profile, bool]:
    """(profile, created?). `returnIfExist` answers the existing profile unchanged."""
    identifier, metadata = body["identifier"], body.get("metadata")
    _check_metadata(metadata)
    with write():
        app = apps.find(caller, body["appId"])
        profile: Profile | None = None
        existing = by_identifier(app, identifier)
        if existing is None:
            group_id = body.get("accessGroupId")
            if group_id is not None:
                group_id = access_groups.of_app(app, group_id).id
            else:
                group_id = app.default_access_group_id
            profile = _insert(app, identifier, group_id, metadata)
            if profile is None:
                existing = by_identifier(app, identifier)
        if profile is None:
            if existing is not None and body.get("returnIfExist"):
                return existing, False
            raise _taken(identifier)
    webhooks.profile_created(app, view(profile))
    return profile, True


def resolve_user(app: App, user_id: str) -> Profile:
    """The app's live profile whose identifier is `user_id`, created when there is none
    (joining the app's default access group, firing `profile.created`). Safe under
    concurrency: one profile per identifier, one event. Call it outside a transaction: the
    profile commits before its webhooks are queued."""
    for _ in range(3):
        profile = by_identifier(app, user_id)
        if profile is not None:
            return profile
        with write():
            profile = by_identifier(app, user_id)
            if profile is not None:
                return profile
            group_id = App.select(App.default_access_group_id).where(App.id == app.id).scalar()
            created = _insert(app, user_id, group_id, None)
        if created is not None:
            webhooks.profile_created(app, view(created))
            return created
        # Another request created it first (and it may already be gone again): look again.
    raise ApiError(409, "conflict", f"The profile {user_id!r} is changing; try again")


def list_page(caller: OrgCaller, app_ref: str, page: int, size: int) -> dict[str, Any]:
    app = apps.find(caller, app_ref)
    query = Profile.select().where((Profile.app == app) & _live())
    return pages.page(query, Profile.created_at, Profile.id, page, size, view)


def update(caller: OrgCaller, profile_id: str, changes: dict[str, Any]) -> Profile:
    """Change `identifier`, `accessGroupId` (None: no group) and/or `metadata` (None clears
    it); only those columns are written, so concurrent head-state changes are kept."""
    if "metadata" in changes:
        _check_metadata(changes["metadata"])
    with write():
        profile = find(caller, profile_id)
        changed: list[peewee.Field] = [Profile.updated_at]
        if "identifier" in changes and changes["identifier"] != profile.identifier:
            if by_identifier(profile.app, changes["identifier"]) is not None:
                raise _taken(changes["identifier"])
            profile.identifier = changes["identifier"]
            changed.append(Profile.identifier)
        if "accessGroupId" in changes:
            group_id = changes["accessGroupId"]
            if group_id is not None:
                group_id = access_groups.of_app(profile.app, group_id).id
            profile.access_group_id = group_id
            changed.append(Profile.access_group_id)
        if "metadata" in changes:
            profile.metadata = changes["metadata"]
            changed.append(Profile.metadata)
        profile.updated_at = clock.now()
        try:
            with db.atomic():
                profile.save(only=changed)
        except peewee.IntegrityError:  # the identifier was taken concurrently
            raise _taken(profile.identifier) from None
    return profile


def register_cleanup(cleanup: Cleanup) -> None:
    """Have the profile deletion job call `cleanup(profile_id)` before it deletes the profile
    row (e.g. to stop its instances, delete its states, sessions, history and their files).
    It runs in the job, may run again if the job is retried, and must be idempotent."""
    _cleanups.append(cleanup)


@jobs.task(name="harnesslayer.delete_profile", retries=3, retry_delay=10)
def delete_profile_records(profile_id: str) -> None:
    """Remove a deleted profile's records: registered cleanups, then its own rows."""
    for cleanup in list(_cleanups):
        cleanup(profile_id)
    with write():
        RunUsage.delete().where(RunUsage.profile == profile_id).execute()
        Profile.delete().where(
            (Profile.id == profile_id) & (Profile.deleted_at.is_null(False))
        ).execute()
    log.info("profile %s and its records deleted", profile_id)


def delete(caller: OrgCaller, profile_id: str) -> Profile:
    """Mark the profile deleted at once (404 from now on, identifier freed); a job removes
    the rest."""
    with write():
        profile = find(caller, profile_id)
        profile.deleted_at = clock.now()
        profile.save(only=[Profile.deleted_at])
    delete_profile_records(profile.id)
    return profile
