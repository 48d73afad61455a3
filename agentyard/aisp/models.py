"""AISP Hub tables. Every row belongs to a realm (a core Tenant of surface `aisp-hub`)."""

from __future__ import annotations

import json
from typing import Any

import peewee

from agentyard.core.keys import Tenant
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel


class Session(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=40)
    realm = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    name = peewee.CharField(max_length=128)
    kind = peewee.CharField(max_length=32)
    capabilities = peewee.TextField(default="[]")
    public_key = peewee.TextField(null=True)
    status = peewee.CharField(max_length=16, default="active")
    registered_by = peewee.CharField(max_length=40, null=True, index=True)
    inbox_seq = peewee.BigIntegerField(default=0)
    created_at = peewee.DateTimeField()
    last_seen = peewee.DateTimeField(null=True)
    deregistered_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "aisp_session"

    @property
    def capability_list(self) -> list[str]:
        return json.loads(self.capabilities)


# A name is unique among the realm's *active* sessions.
Session.add_index(
    Session.index(Session.realm, Session.name, unique=True, where=Session.status == "active")
)
Session.add_index(Session.realm, Session.status, Session.kind)


class Message(BaseModel):
    """One envelope as sent; it reaches each recipient through a Delivery."""

    id = peewee.CharField(primary_key=True, max_length=40)
    realm = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    sender = peewee.CharField(max_length=40)
    category = peewee.CharField(max_length=32)
    payload = peewee.TextField(default="{}")
    reply_to = peewee.CharField(max_length=40, null=True)
    sent_at = peewee.DateTimeField()

    class Meta:
        table_name = "aisp_message"

    @property
    def payload_dict(self) -> dict[str, Any]:
        return json.loads(self.payload)


class Delivery(BaseModel):
    """A message in one recipient's inbox, numbered by the recipient's inbox sequence."""

    id = peewee.AutoField()
    message = peewee.ForeignKeyField(Message, on_delete="CASCADE")
    recipient = peewee.CharField(max_length=40)
    seq = peewee.BigIntegerField()
    read_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "aisp_delivery"
        indexes = ((("recipient", "seq"), True),)


class MemoryEntry(BaseModel):
    id = peewee.AutoField()
    realm = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    key = peewee.CharField(max_length=256)
    value = peewee.TextField()
    owner = peewee.CharField(max_length=40, index=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "aisp_memory"
        indexes = ((("realm", "key"), True),)


class Grant(BaseModel):
    """`requester` may use `grantor`'s `capability` (on keys matching `namespace`)."""

    id = peewee.CharField(primary_key=True, max_length=40)
    realm = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    requester = peewee.CharField(max_length=40, index=True)
    grantor = peewee.CharField(max_length=40, index=True)
    capability = peewee.CharField(max_length=32)
    namespace = peewee.CharField(max_length=256)
    status = peewee.CharField(max_length=16, default="pending")
    reason = peewee.TextField(null=True)
    expires_at = peewee.DateTimeField(null=True)
    created_at = peewee.DateTimeField()
    decided_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "aisp_grant"


register(
    "aisp",
    [
        Migration(
            1,
            "sessions, messages, deliveries, memory, grants",
            create_tables(Session, Message, Delivery, MemoryEntry, Grant),
        )
    ],
)
