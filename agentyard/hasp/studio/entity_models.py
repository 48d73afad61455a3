"""Tables of Studio entities and their records (migrations component `hasp-studio-records`).

An entity is a schema of a project (`StudioEntity.fields`, JSON); every record of every
entity of every org lives in ONE JSON row table (`StudioRecord.data`): creating an entity is
an insert, never DDL. Listing a page is served by the composite index
(entity, created_at, id); filters and sorts on fields compile to the store's JSON operators
(`record_query`).
"""

from __future__ import annotations

import peewee

from agentyard.core.keys import Tenant
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, JsonField
from agentyard.hasp.studio.models import Project


class StudioEntity(BaseModel):
    """A typed schema of a project: fields, display fields, the app its events go to."""

    id = peewee.CharField(primary_key=True, max_length=40)  # ent_<ulid>
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    tenant_id: str
    project = peewee.ForeignKeyField(Project, on_delete="CASCADE")
    project_id: str
    key = peewee.CharField(max_length=63)
    name = peewee.CharField(max_length=200)
    description = peewee.TextField(default="")
    app_id = peewee.CharField(max_length=100, null=True)
    fields = JsonField()  # [{name, type, required, unique, phi, options, reference, default}]
    display_fields = JsonField()  # [field name, ...]
    schema_version = peewee.IntegerField(default=1)
    created_by = peewee.CharField(max_length=40, null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "hasp_studio_entity"
        indexes = ((("project", "key"), True), (("tenant", "created_at", "id"), False))


class StudioRecord(BaseModel):
    """One record of an entity: `data` holds its fields (absent = no value), `version` its
    optimistic-concurrency version (1 on create, +1 per change)."""

    id = peewee.CharField(primary_key=True, max_length=40)  # rec_<ulid>
    entity = peewee.ForeignKeyField(StudioEntity, on_delete="CASCADE", index=False)
    entity_id: str
    data = JsonField()
    version = peewee.IntegerField(default=1)
    created_by = peewee.CharField(max_length=40, null=True)
    updated_by = peewee.CharField(max_length=40, null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "hasp_studio_record"
        indexes = ((("entity", "created_at", "id"), False),)


TABLES = (StudioEntity, StudioRecord)

register("hasp-studio-records", [Migration(1, "entities and records", create_tables(*TABLES))])
