"""The SDK event replay log (migrations component `hyphen-sdk-events`): the newest events of
each org, kept in the store so `GET /sdk/events` with `Last-Event-ID` resumes on any worker.

An event's id is its row id here: it increases with every event (of every org), so "after
`Last-Event-ID`" is `id > last`. Each org keeps its newest `REPLAY_EVENTS` (1000) events, none
older than a session lives (AGENTYARD_HYPHEN_SDK_SESSION_SECONDS: no client can resume from
further back); older rows are pruned as the org's events are written (every 16th event id).
Events of an org with no live publishable key are not kept (no stream can exist).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import peewee

from agentyard.core import clock, runtime
from agentyard.core.keys import ApiKey, Tenant
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, JsonField, connection, write
from agentyard.hyphen.sdk_models import SdkKey

REPLAY_EVENTS = 1000


class SdkEvent(BaseModel):
    """One published SDK event (the broker message, minus its id, which is the row's)."""

    id = peewee.BigAutoField()
    org = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    org_id: str
    type = peewee.CharField(max_length=64)
    message = JsonField()
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hyphen_sdk_event"
        indexes = ((("org", "id"), False),)


register(
    "hyphen-sdk-events",
    [Migration(1, "the SDK event replay log", create_tables(SdkEvent))],
)


def streams_possible(org_id: str) -> bool:
    """Whether the org has a live publishable key (else nobody can stream its events)."""
    return (
        SdkKey.select(SdkKey.key)
        .join(ApiKey, on=(SdkKey.key == ApiKey.id))
        .where((SdkKey.org == org_id) & ApiKey.revoked_at.is_null())
        .exists()
    )


def append(org_id: str, type_: str, message: dict[str, Any]) -> int | None:
    """Keep an event of the org (pruning what falls out of the window); its id, or None
    when the org has no live publishable key."""
    with connection():
        if not streams_possible(org_id):
            return None
        with write():
            row = SdkEvent.create(org=org_id, type=type_, message=message, created_at=clock.now())
            if row.id % 16 == 0:  # prune now and then: the log stays within ~window + 16
                prune(org_id)
        return int(row.id)


def prune(org_id: str) -> int:
    """Drop the org's events beyond the newest REPLAY_EVENTS or older than a session lives."""
    oldest = clock.now() - dt.timedelta(seconds=runtime.settings().hyphen_sdk_session_seconds)
    cut = (
        SdkEvent.select(SdkEvent.id)
        .where(SdkEvent.org == org_id)
        .order_by(SdkEvent.id.desc())
        .offset(REPLAY_EVENTS)
        .limit(1)
        .scalar()
    )
    where = (SdkEvent.org == org_id) & (SdkEvent.created_at < oldest)
    if cut is not None:
        where = (SdkEvent.org == org_id) & ((SdkEvent.id <= cut) | (SdkEvent.created_at < oldest))
    return int(SdkEvent.delete().where(where).execute())


def after(org_id: str, last_id: int) -> tuple[list[dict[str, Any]], bool]:
    """The org's kept events after `last_id`, oldest first, as broker messages; and whether
    some may be missing: `last_id` is no longer kept and is older than every event that is
    (the window dropped it; the log drops from its oldest end)."""
    rows = list(
        SdkEvent.select()
        .where((SdkEvent.org == org_id) & (SdkEvent.id > last_id))
        .order_by(SdkEvent.id)
        .limit(REPLAY_EVENTS)
    )
    missed = bool(rows) and not (
        SdkEvent.select(SdkEvent.id)
        .where((SdkEvent.org == org_id) & (SdkEvent.id <= last_id))
        .exists()
    )
    return [{**row.message, "id": row.id} for row in rows], missed
