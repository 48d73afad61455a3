"""HASP AI tables: credits, conversations and inference records. Every row belongs to an
organization (a core Tenant of key space `hasp-ai`).

Raw PHI is never stored: conversation turns and inference records keep the texts as they were
sent upstream, with placeholders in place of PHI. Created by `agentyard.hasp.schema`.
"""

from __future__ import annotations

import peewee

from agentyard.core.keys import Tenant
from agentyard.core.store import BaseModel, JsonField


class CreditPeriod(BaseModel):
    """Credits of one org in one calendar month; the row reservations lock."""

    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    period = peewee.CharField(max_length=7)  # YYYY-MM
    used = peewee.BigIntegerField(default=0)
    reserved = peewee.BigIntegerField(default=0)
    requests = peewee.BigIntegerField(default=0)
    thresholds_reached = JsonField(default=list)

    class Meta:
        table_name = "hasp_credit_period"
        primary_key = peewee.CompositeKey("tenant", "period")


class Reservation(BaseModel):
    """Credits held by a request in flight; settled (deleted) when it ends."""

    id = peewee.CharField(primary_key=True, max_length=40)
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    period = peewee.CharField(max_length=7)
    amount = peewee.BigIntegerField()
    created_at = peewee.DateTimeField(index=True)

    class Meta:
        table_name = "hasp_reservation"


class Conversation(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=40)  # conv_<ulid>
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()
    turns = peewee.IntegerField(default=0)

    class Meta:
        table_name = "hasp_conversation"


class Turn(BaseModel):
    """One message of a conversation, as sent upstream (placeholders instead of PHI)."""

    conversation = peewee.ForeignKeyField(Conversation, backref="history", on_delete="CASCADE")
    seq = peewee.IntegerField()
    role = peewee.CharField(max_length=16)
    content = peewee.TextField()

    class Meta:
        table_name = "hasp_turn"
        indexes = ((("conversation", "seq"), True),)


class InferenceRecord(BaseModel):
    """One inference from either surface; `id` is the ULID of its request and message ids."""

    id = peewee.CharField(primary_key=True, max_length=26)
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    surface = peewee.CharField(max_length=16)  # native | anthropic
    conversation_id = peewee.CharField(max_length=40, null=True)
    api_key_id = peewee.CharField(max_length=40, null=True)
    model = peewee.CharField(max_length=100)
    provider = peewee.CharField(max_length=32)
    offline = peewee.BooleanField()
    stored = peewee.BooleanField()
    system = peewee.TextField(null=True)
    messages = JsonField(null=True)
    output = JsonField(null=True)
    stop_reason = peewee.CharField(max_length=32, null=True)
    status = peewee.CharField(max_length=16)
    input_tokens = peewee.IntegerField(default=0)
    output_tokens = peewee.IntegerField(default=0)
    credits = peewee.BigIntegerField(default=0)
    cost_usd = peewee.FloatField(default=0.0)
    phi = JsonField()
    audit_entry_id = peewee.CharField(max_length=40, null=True)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hasp_inference_record"
