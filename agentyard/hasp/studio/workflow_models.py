"""Tables of Studio apps, workflows, their runs' index, project webhooks and inbound receipts,
with their own migration component (`hasp-studio-workflows`).

Every row belongs to a HASP org (a core Tenant) and a project. Webhook secrets are encrypted at
rest with `core.vault` (context `hasp.studio.webhook.secret`) and never returned after creation.
"""

from __future__ import annotations

import peewee

from agentyard.core.keys import Tenant
from agentyard.core.migrations import Migration, add_columns, create_tables, register
from agentyard.core.store import BaseModel, JsonField
from agentyard.hasp.studio.models import Project


class StudioApp(BaseModel):
    """An app of a project; its id is the `app_id` hasp-ai `/v1/webhooks` registrations name."""

    id = peewee.CharField(primary_key=True, max_length=40)  # app_<ulid>
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    tenant_id: str
    project = peewee.ForeignKeyField(Project, on_delete="CASCADE")
    project_id: str
    name = peewee.CharField(max_length=200)
    slug = peewee.CharField(max_length=63)
    description = peewee.TextField(default="")
    created_by = peewee.CharField(max_length=40, null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "hasp_studio_app"
        indexes = ((("project", "slug"), True),)


class StudioWorkflow(BaseModel):
    """A workflow: its definition as authored, and compiled for the `hasp-studio` engine."""

    id = peewee.CharField(primary_key=True, max_length=40)  # wf_<ulid>
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    tenant_id: str
    project = peewee.ForeignKeyField(Project, on_delete="CASCADE")
    project_id: str
    name = peewee.CharField(max_length=200)
    slug = peewee.CharField(max_length=63)
    description = peewee.TextField(default="")
    definition = JsonField()
    compiled = JsonField()
    trigger_type = peewee.CharField(max_length=16)
    agent_callable = peewee.BooleanField(default=False)
    next_fire_at = peewee.DateTimeField(null=True)  # schedule triggers: the next due time
    created_by = peewee.CharField(max_length=40, null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "hasp_studio_workflow"
        indexes = (
            (("project", "slug"), True),
            (("tenant", "trigger_type"), False),
            (("trigger_type", "next_fire_at"), False),
        )


class StudioRun(BaseModel):
    """Which workflow a flows run belongs to, what started it, and its caller run (if any)."""

    run_id = peewee.CharField(primary_key=True, max_length=40)
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    tenant_id: str
    project_id = peewee.CharField(max_length=40)
    workflow = peewee.ForeignKeyField(StudioWorkflow, on_delete="CASCADE")
    workflow_id: str
    trigger = JsonField()
    parent_run_id = peewee.CharField(max_length=40, null=True)
    parent_path = peewee.CharField(max_length=255, null=True)
    # the contract version it runs: a published release (None: the draft, e.g. a test run)
    release_id = peewee.CharField(max_length=40, null=True)
    sandbox = peewee.BooleanField(default=False)  # a test run: no outbound effects
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hasp_studio_run"
        indexes = ((("workflow", "created_at"), False), (("parent_run_id",), False))


class StudioWebhook(BaseModel):
    """A project webhook: outbound (events POSTed to `url`) or inbound (a URL that starts runs
    of `workflow`)."""

    id = peewee.CharField(primary_key=True, max_length=40)  # whk_<ulid>
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    tenant_id: str
    project = peewee.ForeignKeyField(Project, on_delete="CASCADE")
    project_id: str
    direction = peewee.CharField(max_length=8)  # inbound | outbound
    name = peewee.CharField(max_length=200)
    url = peewee.CharField(max_length=2048, null=True)
    events = JsonField()
    app_id = peewee.CharField(max_length=40, null=True)
    workflow_id = peewee.CharField(max_length=40, null=True)
    active = peewee.BooleanField(default=True)
    secret = peewee.TextField()  # vault token
    created_by = peewee.CharField(max_length=40, null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()
    deleted_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hasp_studio_webhook"
        indexes = ((("project", "created_at"), False),)


class WebhookReceipt(BaseModel):
    """One call to an inbound webhook's URL (or a simulated one)."""

    id = peewee.CharField(primary_key=True, max_length=40)  # rcp_<ulid>
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    webhook = peewee.ForeignKeyField(StudioWebhook, on_delete="CASCADE")
    webhook_id: str
    received_at = peewee.DateTimeField()
    headers = JsonField()
    body_sha256 = peewee.CharField(max_length=64)
    body_size = peewee.IntegerField()
    verified = peewee.BooleanField()
    reason = peewee.CharField(max_length=200, null=True)
    simulated = peewee.BooleanField(default=False)
    run_id = peewee.CharField(max_length=40, null=True)

    class Meta:
        table_name = "hasp_studio_webhook_receipt"
        indexes = ((("webhook", "received_at"), False),)


TABLES = (StudioApp, StudioWorkflow, StudioRun, StudioWebhook, WebhookReceipt)

register(
    "hasp-studio-workflows",
    [
        Migration(1, "studio apps, workflows, runs, webhooks, receipts", create_tables(*TABLES)),
        Migration(2, "run contract version", add_columns(StudioRun, "release_id", "sandbox")),
    ],
)
