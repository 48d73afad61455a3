"""The tables of Hyphen documents (migrations component `hyphen-documents`).

A document is a named, tagged file of an org; each upload of its bytes is a version (kept, and
downloadable, until the document is collected). Bytes live in the content-addressed blob store
(`core.blobs`), so versions with identical bytes share one blob: storage usage counts each
distinct digest of the org once. Every action on a document is a `DocumentAudit` row.
"""

from __future__ import annotations

import peewee

from agentyard.core import blobs
from agentyard.core.keys import Tenant
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, JsonField


class Document(BaseModel):
    """A document: its current name, type, tags and metadata; `deleted_at` once soft-deleted
    (hidden from the API, collected by the periodic task)."""

    id = peewee.CharField(primary_key=True, max_length=64)
    org = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    org_id: str
    name = peewee.CharField(max_length=512)
    content_type = peewee.CharField(max_length=255)
    tags = JsonField()
    metadata = JsonField()
    version = peewee.IntegerField()  # the current (latest) version number
    digest = peewee.CharField(max_length=64)  # the current version's blob
    size = peewee.BigIntegerField()
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()
    deleted_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hyphen_document"
        indexes = ((("org", "created_at"), False),)


class DocumentVersion(BaseModel):
    """One stored version of a document's bytes."""

    id = peewee.AutoField()
    document = peewee.ForeignKeyField(Document, on_delete="CASCADE")
    document_id: str
    number = peewee.IntegerField()
    name = peewee.CharField(max_length=512)
    content_type = peewee.CharField(max_length=255)
    digest = peewee.CharField(max_length=64)
    size = peewee.BigIntegerField()
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hyphen_document_version"
        indexes = ((("document", "number"), True),)


class DocumentAudit(BaseModel):
    """One action on a document: who (a key id) did what, when, with what details."""

    id = peewee.AutoField()
    document = peewee.ForeignKeyField(Document, on_delete="CASCADE")
    document_id: str
    action = peewee.CharField(max_length=32)
    actor = peewee.CharField(max_length=160)
    details = JsonField()
    at = peewee.DateTimeField()

    class Meta:
        table_name = "hyphen_document_audit"
        indexes = ((("document", "id"), False),)


register(
    "hyphen-documents",
    [
        Migration(
            1,
            "documents, their versions and audit",
            create_tables(Document, DocumentVersion, DocumentAudit),
        ),
        Migration(
            2,
            "versions by blob digest (whether a blob is still referenced)",
            lambda database: database.execute_sql(
                "CREATE INDEX IF NOT EXISTS hyphen_document_version_digest "
                "ON hyphen_document_version (digest)"
            ),
        ),
    ],
)


def references(digest: str) -> bool:
    """Whether a document version (deleted or not, until collected) uses the blob `digest`."""
    return DocumentVersion.select().where(DocumentVersion.digest == digest).exists()


blobs.register_references("hyphen-documents", references)
