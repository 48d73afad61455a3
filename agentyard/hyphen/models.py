"""The tables of Hyphen's org resources: custom tables (definitions, rows, audit), org config
secrets, stored JSON Schemas and webhook registrations (migrations component `hyphen`).

Every row belongs to an org (a core tenant of the `hyphen` key space, `org` below); queries
always scope by it. Custom tables keep their rows in one JSON-typed table
(`hyphen_table_row`): see `agentyard.hyphen.tables` for why.
"""

from __future__ import annotations

import peewee

from agentyard.core.keys import Tenant
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, JsonField
from agentyard.core.vault import EncryptedField


class CustomTable(BaseModel):
    """A custom table: its name in the org and its typed fields (a JSON list)."""

    id = peewee.CharField(primary_key=True, max_length=64)
    org = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    org_id: str
    name = peewee.CharField(max_length=64)
    fields = JsonField()
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hyphen_custom_table"
        indexes = ((("org", "name"), True),)


class TableRow(BaseModel):
    """One row of a custom table: `data` holds every field (null when it has no value)."""

    id = peewee.AutoField()
    table = peewee.ForeignKeyField(CustomTable, on_delete="CASCADE")
    table_id: str
    data = JsonField()
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "hyphen_table_row"
        indexes = ((("table", "id"), False),)


class TableAudit(BaseModel):
    """One mutation of a custom table, with the row before and after it."""

    id = peewee.AutoField()
    table = peewee.ForeignKeyField(CustomTable, on_delete="CASCADE")
    table_id: str
    operation = peewee.CharField(max_length=16)
    row_id = peewee.IntegerField(null=True)
    before = JsonField(null=True)
    after = JsonField(null=True)
    actor = peewee.CharField(max_length=160)
    at = peewee.DateTimeField()

    class Meta:
        table_name = "hyphen_table_audit"
        indexes = ((("table", "id"), False),)


class OrgConfig(BaseModel):
    """An org secret `orgconfig:<kind>:<key>`; `value` is a vault token bound to the org, kind
    and key (see `agentyard.hyphen.org_config`), never the plaintext."""

    id = peewee.AutoField()
    org = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    org_id: str
    kind = peewee.CharField(max_length=8)
    key = peewee.CharField(max_length=128)
    value = peewee.TextField()
    masked = peewee.CharField(max_length=16)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "hyphen_org_config"
        indexes = ((("org", "kind", "key"), True),)


class StoredSchema(BaseModel):
    """A JSON Schema of the org (checked as one when stored)."""

    id = peewee.CharField(primary_key=True, max_length=64)
    org = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    org_id: str
    name = peewee.CharField(max_length=200, null=True)
    description = peewee.TextField(null=True)
    schema = JsonField()
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hyphen_schema"
        indexes = ((("org", "created_at"), False),)


class WebhookRegistration(BaseModel):
    """An endpoint registered for one event (or `*`); its secret is encrypted at rest."""

    id = peewee.CharField(primary_key=True, max_length=64)
    org = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    org_id: str
    event = peewee.CharField(max_length=64)
    url = peewee.TextField()
    secret = EncryptedField()
    filter = JsonField(null=True)
    auto_payload = peewee.BooleanField(default=True)
    active = peewee.BooleanField(default=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "hyphen_webhook"
        indexes = ((("org", "event"), False),)


register(
    "hyphen",
    [
        Migration(
            1,
            "custom tables, org config, schemas and webhooks",
            create_tables(
                CustomTable, TableRow, TableAudit, OrgConfig, StoredSchema, WebhookRegistration
            ),
        )
    ],
)
