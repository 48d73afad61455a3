"""History records: rollbacks now, one record per finished response run later.

`record()` appends a row; the caller's transaction (if any) covers it. A record names its app
and, where they apply, the profile, the session and the external user identifier (the
filters of `GET /v1/history/list`); everything else the type carries goes in `data`, whose
keys are the API's field names, e.g. `record(app_id, "response", profile_id=..., user_id=...,
session_id=..., data={"instanceId": ..., "status": ..., "input": ..., "output": ...})`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import peewee

from agentyard.core import clock, ids
from agentyard.core.tenancy import found
from agentyard.harnesslayer import apps, pages
from agentyard.harnesslayer.auth import OrgCaller
from agentyard.harnesslayer.bundle_models import History
from agentyard.harnesslayer.models import App, Profile

TYPES = ("response", "version.rollback", "state.rollback")


def record(
    app_id: str,
    type_: str,
    *,
    profile_id: str | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    data: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> History:
    """Append one history record (call inside the write transaction of what it records)."""
    if type_ not in TYPES:
        raise ValueError(f"unknown history type {type_!r}; expected one of {TYPES}")
    return History.create(
        id=ids.new_id("hist", "-"),
        app=app_id,
        profile=profile_id,
        session_id=session_id,
        user_id=user_id,
        type=type_,
        data=data or {},
        created_at=at or clock.now(),
    )


def view(row: History) -> dict[str, Any]:
    """The API's HistoryRecord: fields a type does not carry are absent."""
    out: dict[str, Any] = {"id": row.id, "appId": row.app_id, "type": row.type}
    for key, value in (
        ("profileId", row.profile_id),
        ("userId", row.user_id),
        ("sessionId", row.session_id),
    ):
        if value is not None:
            out[key] = value
    out.update(row.data or {})
    out["createdAt"] = clock.iso(row.created_at)
    return out


def _visible(caller: OrgCaller) -> Any:
    """Records of the caller's live apps, minus those of profiles being deleted."""
    return (
        History.select(History)
        .join(App, on=History.app == App.id)
        .switch(History)
        .join(Profile, peewee.JOIN.LEFT_OUTER, on=History.profile == Profile.id)
        .where(
            (App.organization == caller.organization)
            & App.deleted_at.is_null()
            & (History.profile.is_null() | Profile.deleted_at.is_null())
        )
    )


def find(caller: OrgCaller, history_id: str) -> History:
    return found(
        _visible(caller).where(History.id == history_id).first(), "history record", history_id
    )


def list_page(
    caller: OrgCaller,
    *,
    app_id: str | None,
    profile_id: str | None,
    session_id: str | None,
    user_id: str | None,
    history_id: str | None,
    page: int,
    size: int,
) -> dict[str, Any]:
    """Records matching every filter given (the app, when named, must exist); without a
    filter, every record of the organization (the seed requires one; agentyard does not
    refuse a list it can answer, as with `GET /v1/app/list`)."""
    query = _visible(caller)
    if app_id:
        query = query.where(History.app == apps.find(caller, app_id).id)
    if profile_id:
        query = query.where(History.profile == profile_id)
    if session_id:
        query = query.where(History.session_id == session_id)
    if user_id:
        query = query.where(History.user_id == user_id)
    if history_id:
        query = query.where(History.id == history_id)
    return pages.page(query, History.created_at, History.id, page, size, view)
