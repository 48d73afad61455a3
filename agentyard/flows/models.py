"""The run store: runs, their step records and their trace events (peewee tables)."""

from __future__ import annotations

import peewee

from agentyard.core.keys import Tenant
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, JsonField

RUNNING, PAUSED, WAITING = "running", "paused", "waiting"
COMPLETED, FAILED, CANCELLED = "completed", "failed", "cancelled"
CONDITION_NOT_MET = "condition_not_met"
RUN_STATUSES = (RUNNING, PAUSED, WAITING, COMPLETED, FAILED, CANCELLED, CONDITION_NOT_MET)
FINAL_STATUSES = frozenset({COMPLETED, FAILED, CANCELLED, CONDITION_NOT_MET})

# Step record statuses (a step's `running` record after a crash means "interrupted").
STEP_RUNNING, STEP_PAUSED, STEP_COMPLETED = "running", "paused", "completed"
STEP_FAILED, STEP_SKIPPED = "failed", "skipped"


class Run(BaseModel):
    """One execution of a compiled definition; `context` is a redacted snapshot."""

    id = peewee.CharField(primary_key=True, max_length=40)
    tenant = peewee.ForeignKeyField(Tenant, backref="flow_runs", on_delete="CASCADE")
    tenant_id: str  # peewee's id accessor, declared for type checkers
    engine = peewee.CharField(max_length=32)
    definition = JsonField()
    initial = JsonField()  # the context the run started with (input included), redacted
    status = peewee.CharField(max_length=24, default=RUNNING)
    context = JsonField()
    output = JsonField(null=True)
    error = JsonField(null=True)
    pause_path = peewee.CharField(max_length=255, null=True)
    pause_kind = peewee.CharField(max_length=64, null=True)
    pause_key = peewee.CharField(max_length=128, null=True)
    pause_payload = JsonField(null=True)
    pause_expires_at = peewee.DateTimeField(null=True)
    lease_owner = peewee.CharField(max_length=40, null=True)
    lease_expires_at = peewee.DateTimeField(null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()
    finished_at = peewee.DateTimeField(null=True)
    version = peewee.IntegerField(default=0)

    class Meta:
        table_name = "flows_run"
        indexes = (
            (("tenant", "created_at"), False),
            (("status", "lease_expires_at"), False),
            (("status", "pause_expires_at"), False),
        )


class StepRecord(BaseModel):
    """One step at one path of a run: committed when it starts and when it ends."""

    id = peewee.AutoField()
    run = peewee.ForeignKeyField(Run, backref="step_records", on_delete="CASCADE")
    path = peewee.CharField(max_length=255)
    type = peewee.CharField(max_length=64)
    status = peewee.CharField(max_length=16)
    input = JsonField(null=True)
    output = JsonField(null=True)
    merged = JsonField(null=True)  # context keys the step set besides its output_key
    error = JsonField(null=True)
    state = JsonField(null=True)  # a long step's checkpoint (e.g. a ReAct loop's history)
    decisions = JsonField(null=True)  # pause key -> the decision it was resumed with
    attempt = peewee.IntegerField(default=0)
    idempotency_key = peewee.CharField(max_length=255)
    started_at = peewee.DateTimeField(null=True)
    finished_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "flows_step"
        indexes = ((("run", "path"), True),)


class TraceEvent(BaseModel):
    """An event of a run, in order (`id`); secrets are redacted before it is written."""

    id = peewee.AutoField()
    run = peewee.ForeignKeyField(Run, backref="trace_events", on_delete="CASCADE")
    at = peewee.DateTimeField()
    kind = peewee.CharField(max_length=64)
    path = peewee.CharField(max_length=255, null=True)
    data = JsonField(null=True)

    class Meta:
        table_name = "flows_trace"
        indexes = ((("run", "id"), False),)


register(
    "flows",
    [Migration(1, "flow runs, steps and traces", create_tables(Run, StepRecord, TraceEvent))],
)
