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
    reply_to = peewee.CharField(max_length=128, null=True)  # any client-sent id
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
    """One key of the realm store. `owner` is always the owner of the key's namespace."""

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


class Namespace(BaseModel):
    """A memory namespace (a key's first dotted segment), owned by the session that first
    wrote a key in it, until that session is deregistered."""

    id = peewee.AutoField()
    realm = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    name = peewee.CharField(max_length=256)
    owner = peewee.CharField(max_length=40, index=True)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "aisp_namespace"
        indexes = ((("realm", "name"), True),)


def namespace_of(key: str) -> str:
    """A memory key's namespace: its first dotted segment (`project` for `project.name`)."""
    return key.split(".", 1)[0]


def key_starts_with(prefix: str) -> Any:
    """Memory keys beginning with `prefix`, compared exactly (LIKE folds case in SQLite)."""
    return peewee.fn.SUBSTR(MemoryEntry.key, 1, len(prefix)) == prefix


def in_namespace(name: str) -> Any:
    """The keys of namespace `name`: `name` itself and `name.<anything>`."""
    return (MemoryEntry.key == name) | key_starts_with(name + ".")


def _own_namespaces(database: peewee.Database) -> None:
    """Move the store from per-key to per-namespace ownership (safe to run again).

    Keys whose owner is no longer an active session are dropped (a deregistered session's
    memory goes with it, as it now does at deregistration). Each remaining namespace is owned
    by the writer of its oldest key, and every key in it becomes that session's: a key another
    session wrote into it (which per-key ownership allowed) no longer locks its owner out.
    """
    database.create_tables([Namespace], safe=True)
    active = Session.select(Session.id).where(Session.status == "active")
    MemoryEntry.delete().where(MemoryEntry.owner.not_in(active)).execute()
    oldest: dict[tuple[str, str], tuple[str, Any]] = {}
    query = MemoryEntry.select(
        MemoryEntry.realm, MemoryEntry.key, MemoryEntry.owner, MemoryEntry.created_at
    ).order_by(MemoryEntry.created_at, MemoryEntry.id)
    for entry in query.iterator():
        oldest.setdefault(
            (entry.realm_id, namespace_of(entry.key)), (entry.owner, entry.created_at)
        )
    for (realm_id, name), (owner, created_at) in oldest.items():
        claimed = Namespace.get_or_none((Namespace.realm == realm_id) & (Namespace.name == name))
        if claimed is None:
            Namespace.create(realm=realm_id, name=name, owner=owner, created_at=created_at)
        else:
            owner = claimed.owner
        MemoryEntry.update(owner=owner).where(
            (MemoryEntry.realm == realm_id) & in_namespace(name) & (MemoryEntry.owner != owner)
        ).execute()


def _widen_reply_to(database: peewee.Database) -> None:
    """`reply_to` holds any message id a client sends, up to 128 characters (SQLite does not
    enforce VARCHAR lengths; PostgreSQL does)."""
    if not isinstance(database, peewee.SqliteDatabase):
        database.execute_sql("ALTER TABLE aisp_message ALTER COLUMN reply_to TYPE VARCHAR(128)")


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
        ),
        Migration(2, "memory namespaces owned per session", _own_namespaces),
        Migration(3, "message reply_to takes ids up to 128 characters", _widen_reply_to),
    ],
)
