"""The SDK's record of what went through a publishable key (migrations component
`hyphen-sdk-resources`): the documents uploaded with it (and the run each started) and the
agent runs launched with it. `/sdk/documents` and `/sdk/agents` list and reach only these.
"""

from __future__ import annotations

import peewee

from agentyard.core.keys import ApiKey, Tenant
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel
from agentyard.hyphen.document_models import Document


class SdkDocument(BaseModel):
    """A document uploaded through a publishable key; `run_id` when the upload started one.
    Goes with the document when `documents.collect` removes it."""

    document = peewee.ForeignKeyField(Document, primary_key=True, on_delete="CASCADE")
    document_id: str
    key = peewee.ForeignKeyField(ApiKey, on_delete="CASCADE")
    key_id: str
    org = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    org_id: str
    workflow_id = peewee.CharField(max_length=128, null=True)
    run_id = peewee.CharField(max_length=128, null=True)
    uploaded_by = peewee.CharField(max_length=254)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hyphen_sdk_document"
        indexes = ((("key", "created_at"), False),)


class SdkAgentRun(BaseModel):
    """An agent run launched through a publishable key."""

    run_id = peewee.CharField(primary_key=True, max_length=128)
    key = peewee.ForeignKeyField(ApiKey, on_delete="CASCADE")
    key_id: str
    org = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    org_id: str
    started_by = peewee.CharField(max_length=254)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hyphen_sdk_agent_run"
        indexes = ((("key", "created_at"), False),)


register(
    "hyphen-sdk-resources",
    [
        Migration(
            1,
            "documents and agent runs of publishable keys",
            create_tables(SdkDocument, SdkAgentRun),
        )
    ],
)
