"""Tables of an app's runs: channels, sessions, instances (response runs), their events, and
the Sendblue message handles seen per channel.

Migration component `harnesslayer_runs` (after `harnesslayer`). Every row hangs off its app
with ON DELETE CASCADE; `delete_app_rows` removes them explicitly for the app deletion job.
"""

from __future__ import annotations

import peewee

from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, JsonField
from agentyard.core.vault import EncryptedField
from agentyard.harnesslayer.models import App, Organization


class Channel(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=40)  # ch-<ulid>
    app = peewee.ForeignKeyField(App, on_delete="CASCADE")
    app_id: str  # peewee's id accessor, declared for type checkers
    slug = peewee.CharField(max_length=64)
    name = peewee.CharField(max_length=128)
    type = peewee.CharField(max_length=16)  # api | imessage
    webhook = JsonField(null=True)  # api: {name, url, headers}
    from_number = peewee.CharField(max_length=32, null=True)  # imessage
    sendblue_api_key = EncryptedField(null=True)
    sendblue_secret_key = EncryptedField(null=True)
    sendblue_webhook_secret = EncryptedField(null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "hl_channel"
        indexes = ((("app", "slug"), True),)


class Session(BaseModel):
    """A conversation; `messages` is its history (Anthropic message shapes)."""

    pk = peewee.AutoField()
    id = peewee.CharField(max_length=128)  # sess-<ulid> or chosen by the client
    organization = peewee.ForeignKeyField(Organization, on_delete="CASCADE")
    organization_id: str  # peewee's id accessor, declared for type checkers
    app = peewee.ForeignKeyField(App, on_delete="CASCADE")
    app_id: str  # peewee's id accessor, declared for type checkers
    type = peewee.CharField(max_length=8)  # single | shared
    profile_id = peewee.CharField(max_length=40, null=True)
    channel_id = peewee.CharField(max_length=40, null=True)  # a Sendblue sender's session
    sender = peewee.CharField(max_length=32, null=True)
    messages = JsonField(default=list)
    created_at = peewee.DateTimeField()
    last_run_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hl_session"
        indexes = ((("organization", "id"), True), (("channel_id", "sender"), False))


class Instance(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=40)  # inst-<ulid>
    organization = peewee.ForeignKeyField(Organization, on_delete="CASCADE")
    organization_id: str  # peewee's id accessor, declared for type checkers
    app = peewee.ForeignKeyField(App, on_delete="CASCADE")
    app_id: str  # peewee's id accessor, declared for type checkers
    channel_id = peewee.CharField(max_length=40)
    profile_id = peewee.CharField(max_length=40)
    user_id = peewee.CharField(max_length=256)
    session_id = peewee.CharField(max_length=128)
    version_id = peewee.CharField(max_length=128)
    state_id = peewee.CharField(max_length=128, null=True)
    status = peewee.CharField(max_length=12, default="queued")
    input = peewee.TextField(null=True)
    images = JsonField(null=True)  # [{mediaType, data}] until the run starts
    image_count = peewee.IntegerField(default=0)
    output = peewee.TextField(null=True)
    failure = JsonField(null=True)
    created_at = peewee.DateTimeField()
    started_at = peewee.DateTimeField(null=True)
    completed_at = peewee.DateTimeField(null=True)
    stop_requested_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hl_instance"
        indexes = ((("app", "created_at"), False), (("session_id", "status"), False))


class InstanceEvent(BaseModel):
    instance = peewee.ForeignKeyField(Instance, on_delete="CASCADE", index=False)
    seq = peewee.BigIntegerField()
    type = peewee.CharField(max_length=32)
    data = JsonField(default=dict)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hl_instance_event"
        primary_key = peewee.CompositeKey("instance", "seq")


class SendblueMessage(BaseModel):
    """A Sendblue `message_handle` seen on a channel (the inbound webhook's dedupe key)."""

    pk = peewee.AutoField()
    channel = peewee.ForeignKeyField(Channel, on_delete="CASCADE", index=False)
    message_handle = peewee.CharField(max_length=256)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hl_sendblue_message"
        indexes = ((("channel", "message_handle"), True),)


def delete_app_rows(app_id: str) -> None:
    """Remove an app's channels, sessions, instances and their events (app deletion job)."""
    instances = Instance.select(Instance.id).where(Instance.app == app_id)
    InstanceEvent.delete().where(InstanceEvent.instance.in_(instances)).execute()
    Instance.delete().where(Instance.app == app_id).execute()
    Session.delete().where(Session.app == app_id).execute()
    channels = Channel.select(Channel.id).where(Channel.app == app_id)
    SendblueMessage.delete().where(SendblueMessage.channel.in_(channels)).execute()
    Channel.delete().where(Channel.app == app_id).execute()


TABLES = (Channel, Session, Instance, InstanceEvent, SendblueMessage)
register(
    "harnesslayer_runs",
    [
        Migration(
            1, "channels, sessions, instances, events, sendblue handles", create_tables(*TABLES)
        )
    ],
)
