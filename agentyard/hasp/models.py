"""HASP's org-core tables, shared by every HASP surface: org settings, BAA acceptances and
webhook endpoints. Every row belongs to an organization (a core Tenant of key space `hasp-ai`).

The AI gateway's own tables are in `agentyard.hasp.ai.models`; both sets are created by the
product's migration history, `agentyard.hasp.schema`.
"""

from __future__ import annotations

import peewee

from agentyard.core.keys import Tenant
from agentyard.core.store import BaseModel, JsonField


class OrgSettings(BaseModel):
    """An organization's compliance and billing settings (one row per org)."""

    tenant = peewee.ForeignKeyField(Tenant, primary_key=True, on_delete="CASCADE")
    phi_mode = peewee.CharField(max_length=8, default="redact")
    opus_enabled = peewee.BooleanField(default=False)
    spend_cap = peewee.BigIntegerField(null=True)
    allotment = peewee.BigIntegerField()
    updated_at = peewee.DateTimeField(null=True)
    budget_updated_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hasp_org_settings"


class BaaAcceptance(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=40)  # baa_<ulid>
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    version = peewee.CharField(max_length=40)
    signer_name = peewee.CharField(max_length=200)
    signer_title = peewee.CharField(max_length=200)
    signer_email = peewee.CharField(max_length=320)
    template_sha256 = peewee.CharField(max_length=64)
    accepted_at = peewee.DateTimeField()

    class Meta:
        table_name = "hasp_baa_acceptance"


class WebhookEndpoint(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=40)  # we_<ulid>
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    app_id = peewee.CharField(max_length=100)
    url = peewee.CharField(max_length=2048)
    events = JsonField()
    description = peewee.CharField(max_length=255, null=True)
    secret = peewee.CharField(max_length=100)
    created_at = peewee.DateTimeField()
    deleted_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hasp_webhook_endpoint"
