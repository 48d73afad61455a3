"""Access groups: each limits its profiles to `limit` response runs per UTC calendar period.

Runs are counted per profile (`RunUsage`, one row per profile) whatever group it is in, so a
profile moved to another group, or a group whose `limit` or `limitReset` changes, keeps the
runs already counted in the current period. `check_and_count_run()` is what a response run
calls before it starts: it refuses a profile whose limit is used up with 403 `limit_reached`,
else counts the run, under a lock on the profile's usage row so that concurrent runs never
count past the limit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import peewee

from agentyard.core import clock, ids
from agentyard.core.errors import ApiError
from agentyard.core.store import is_sqlite, write
from agentyard.core.tenancy import found
from agentyard.harnesslayer import apps, pages
from agentyard.harnesslayer.auth import OrgCaller
from agentyard.harnesslayer.models import AccessGroup, App, Profile
from agentyard.harnesslayer.people_models import RunUsage

RESETS = ("daily", "monthly", "yearly")
DEFAULT_LIMIT_MESSAGE = (
    "This profile has used all the response runs its access group allows for the current period."
)

_M = TypeVar("_M", bound=peewee.Model)  # `locked` keeps the query's model type
# RunUsage columns (period key, runs) per reset policy, and the key format of each period.
_COLUMNS = {
    "daily": ("day", "day_runs"),
    "monthly": ("month", "month_runs"),
    "yearly": ("year", "year_runs"),
}
_KEYS = {"daily": "%Y-%m-%d", "monthly": "%Y-%m", "yearly": "%Y"}
# API field -> column, of what PATCH may change.
_FIELDS = {
    "name": "name",
    "limit": "limit",
    "limitReset": "limit_reset",
    "limitMessage": "limit_message",
}


def view(group: AccessGroup) -> dict[str, Any]:
    return {
        "id": group.id,
        "appId": group.app_id,
        "name": group.name,
        "limit": group.limit,
        "limitReset": group.limit_reset,
        "limitMessage": group.limit_message,
        "isDefault": group.is_default,
        "createdAt": clock.iso(group.created_at),
        "updatedAt": clock.iso(group.updated_at),
    }


def locked(query: peewee.ModelSelect[_M], mode: str = "FOR UPDATE") -> peewee.ModelSelect[_M]:
    """`query` locking its rows for the transaction on PostgreSQL (SQLite's IMMEDIATE
    transactions already serialize writers)."""
    # peewee takes the lock clause as a string too; its stubs only know bool.
    return query if is_sqlite() else query.for_update(mode)  # type: ignore[arg-type]


def find(caller: OrgCaller, group_id: str, *, lock: bool = False) -> AccessGroup:
    """An access group of a live app of the caller's organization; 404 otherwise."""
    query = (
        AccessGroup.select(AccessGroup, App)
        .join(App)
        .where(
            (AccessGroup.id == group_id)
            & (App.organization == caller.organization)
            & (App.deleted_at.is_null())
        )
    )
    if lock and not is_sqlite():  # the group row alone, not its app's
        query = query.for_update("FOR UPDATE", of=AccessGroup)  # type: ignore[arg-type]  # as in locked
    return found(query.first(), "access group", group_id)


def of_app(app: App, group_id: str) -> AccessGroup:
    """A group of `app` (404 otherwise), share-locked on PostgreSQL so that it cannot be
    deleted before the caller's transaction, which assigns profiles to it, commits."""
    query = AccessGroup.select().where((AccessGroup.id == group_id) & (AccessGroup.app == app))
    return found(
        locked(query, "FOR SHARE").first(), "access group", f"{group_id} in app {app.slug}"
    )


def create(caller: OrgCaller, body: dict[str, Any]) -> AccessGroup:
    """A new (never default) group of the app `appId`."""
    now = clock.now()
    with write():
        app = apps.find(caller, body["appId"])
        return AccessGroup.create(
            id=ids.new_id("ag", "-"),
            app=app,
            name=body["name"],
            limit=body["limit"],
            limit_reset=body["limitReset"],
            limit_message=body.get("limitMessage"),
            is_default=False,
            created_at=now,
            updated_at=now,
        )


def list_page(caller: OrgCaller, app_ref: str, page: int, size: int) -> dict[str, Any]:
    app = apps.find(caller, app_ref)
    query = AccessGroup.select().where(AccessGroup.app == app)
    return pages.page(query, AccessGroup.created_at, AccessGroup.id, page, size, view)


def update(caller: OrgCaller, group_id: str, changes: dict[str, Any]) -> AccessGroup:
    """Change `name`, `limit`, `limitReset`, `limitMessage` (None clears it); counts stay."""
    with write():
        group = find(caller, group_id, lock=True)
        changed = [AccessGroup.updated_at]
        for key, column in _FIELDS.items():
            if key in changes:
                setattr(group, column, changes[key])
                changed.append(getattr(AccessGroup, column))
        group.updated_at = clock.now()
        group.save(only=changed)
    return group


def delete(caller: OrgCaller, group_id: str) -> AccessGroup:
    """Delete a group that is not its app's default; its profiles move to the default group
    (or to none when the app has no default group)."""
    now = clock.now()
    with write():
        group = find(caller, group_id, lock=True)
        app = group.app
        if group.is_default or app.default_access_group_id == group.id:
            raise ApiError(409, "conflict", "The app's default access group cannot be deleted")
        Profile.update(access_group_id=app.default_access_group_id, updated_at=now).where(
            (Profile.app == app) & (Profile.access_group_id == group.id)
        ).execute()
        group.delete_instance()
    return group


# --- counting runs ---------------------------------------------------------------------------


def period(reset: str, now: dt.datetime) -> tuple[str, dt.datetime, dt.datetime]:
    """(key, start, end) of the UTC calendar period `reset` that contains `now`."""
    if reset == "daily":
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + dt.timedelta(days=1)
    elif reset == "monthly":
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start + dt.timedelta(days=32)).replace(day=1)
    elif reset == "yearly":
        start = dt.datetime(now.year, 1, 1)
        end = dt.datetime(now.year + 1, 1, 1)
    else:
        raise ValueError(f"unknown limitReset {reset!r}")
    return now.strftime(_KEYS[reset]), start, end


def _runs(row: RunUsage | None, reset: str, now: dt.datetime) -> int:
    """Runs counted in the current `reset` period."""
    if row is None:
        return 0
    key_column, runs_column = _COLUMNS[reset]
    return getattr(row, runs_column) if getattr(row, key_column) == period(reset, now)[0] else 0


def _group_of(profile_id: str) -> AccessGroup | None:
    """The profile's access group as stored now (None: no group, unlimited)."""
    group_id = Profile.select(Profile.access_group_id).where(Profile.id == profile_id).scalar()
    return AccessGroup.get_or_none(AccessGroup.id == group_id) if group_id else None


def limit_reached(group: AccessGroup, now: dt.datetime) -> ApiError:
    """The 403 of a run refused by `group`'s limit."""
    resets_at = period(group.limit_reset, now)[2]
    return ApiError(
        403,
        "limit_reached",
        group.limit_message or DEFAULT_LIMIT_MESSAGE,
        details={
            "accessGroupId": group.id,
            "limit": group.limit,
            "limitReset": group.limit_reset,
            "resetsAt": clock.iso(resets_at),
        },
    )


def check_and_count_run(profile: Profile | str, *, now: dt.datetime | None = None) -> None:
    """Count one response run of `profile` (a row or its display id) in the current periods;
    403 `limit_reached` (nothing counted) when its access group's limit is already used up.

    Atomic: the profile's usage row is locked (`FOR UPDATE` on PostgreSQL; SQLite's IMMEDIATE
    transaction) from the check to the increment, so concurrent runs never exceed the limit.
    Profiles without a group are unlimited but still counted. `now` (naive UTC) is for tests.
    """
    profile_id = profile if isinstance(profile, str) else profile.id
    now = now or clock.now()
    with write():
        RunUsage.insert(profile=profile_id).on_conflict_ignore().execute()
        row = locked(RunUsage.select().where(RunUsage.profile == profile_id)).get()
        group = _group_of(profile_id)
        if group is not None and _runs(row, group.limit_reset, now) >= group.limit:
            raise limit_reached(group, now)
        for reset, (key_column, runs_column) in _COLUMNS.items():
            key = period(reset, now)[0]
            runs = getattr(row, runs_column) + 1 if getattr(row, key_column) == key else 1
            setattr(row, key_column, key)
            setattr(row, runs_column, runs)
        row.updated_at = now
        row.save()


def usage(profile: Profile | str, *, now: dt.datetime | None = None) -> dict[str, Any] | None:
    """The profile's runs against its group's limit in the current period, or None when it has
    no access group (unlimited): `accessGroupId`, `limit`, `limitReset`, `used`, `remaining`,
    `periodStart`, `resetsAt`."""
    profile_id = profile if isinstance(profile, str) else profile.id
    now = now or clock.now()
    group = _group_of(profile_id)
    if group is None:
        return None
    used = _runs(RunUsage.get_or_none(RunUsage.profile == profile_id), group.limit_reset, now)
    _, start, end = period(group.limit_reset, now)
    return {
        "accessGroupId": group.id,
        "limit": group.limit,
        "limitReset": group.limit_reset,
        "used": used,
        "remaining": max(0, group.limit - used),
        "periodStart": clock.iso(start),
        "resetsAt": clock.iso(end),
    }
