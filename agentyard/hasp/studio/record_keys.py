"""Idempotency keys of record creates made by workflow steps (migrations component
`hasp-studio-ports`): a step's key names the record its first attempt created, so a retried
attempt answers that record instead of creating a second one."""

from __future__ import annotations

import peewee

from agentyard.core import clock
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel


class StudioRecordKey(BaseModel):
    """`key` (the step's idempotency key, `<run id>:<step path>`) created `record_id`. Plain
    columns: the row is written in the record's own transaction and a record deleted since
    is answered as gone."""

    key = peewee.CharField(primary_key=True, max_length=255)
    tenant_id = peewee.CharField(max_length=40)
    record_id = peewee.CharField(max_length=40)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hasp_studio_record_key"


def created(org_id: str, key: str) -> str | None:
    """The id of the record created under `key` in the org, if any."""
    row = StudioRecordKey.get_or_none(
        (StudioRecordKey.key == key) & (StudioRecordKey.tenant_id == org_id)
    )
    return str(row.record_id) if row is not None else None


def remember(org_id: str, key: str, record_id: str) -> None:
    """Keep that `key` created `record_id` (inside the create's transaction)."""
    StudioRecordKey.create(key=key, tenant_id=org_id, record_id=record_id, created_at=clock.now())


register(
    "hasp-studio-ports",
    [Migration(1, "record-create idempotency keys", create_tables(StudioRecordKey))],
)
