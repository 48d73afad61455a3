"""The workflow side of Hyphen's store: workflows, registered actions and the run index.

A run itself lives in the flows engine's tables (`flows_run`, its steps and trace); a
`hyphen_run` row says which org, workflow (or standalone agent) a run belongs to, so listing
runs, approvals, forms and agents stays a per-org query and a deleted workflow leaves its runs'
history intact (`workflow_id` is kept as a plain string, not a foreign key).
"""

from __future__ import annotations

import peewee

from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, JsonField

WORKFLOW, AGENT = "workflow", "agent"


class Workflow(BaseModel):
    """A saved workflow definition (`wfl-<uuid>`), in Hyphen's format."""

    id = peewee.CharField(primary_key=True, max_length=48)
    org = peewee.CharField(max_length=40, index=True)
    name = peewee.CharField(max_length=200)
    description = peewee.TextField(default="")
    definition = JsonField()
    input_schema_id = peewee.CharField(max_length=64, null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "hyphen_workflow"
        indexes = ((("org", "created_at"), False),)


class Action(BaseModel):
    """A registered action: a named http/llm/db/matcher/custom-table call (`act-<uuid>`)."""

    id = peewee.CharField(primary_key=True, max_length=48)
    org = peewee.CharField(max_length=40)
    action_name = peewee.CharField(max_length=128)
    kind = peewee.CharField(max_length=32)
    description = peewee.TextField(default="")
    config = JsonField()  # the kind's properties (url, headers, template, query, ...)
    passthrough = peewee.BooleanField(default=False)
    output_key = peewee.CharField(max_length=128, null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "hyphen_action"
        indexes = ((("org", "action_name"), True),)


class RunIndex(BaseModel):
    """Which org and workflow (or standalone agent) a flows run belongs to."""

    run_id = peewee.CharField(primary_key=True, max_length=40)
    org = peewee.CharField(max_length=40)
    kind = peewee.CharField(max_length=16, default=WORKFLOW)
    workflow_id = peewee.CharField(max_length=48, null=True)
    workflow_name = peewee.CharField(max_length=200, null=True)
    objective = peewee.TextField(null=True)
    previous_run_id = peewee.CharField(max_length=40, null=True)
    parent_run_id = peewee.CharField(max_length=40, null=True, index=True)
    reminders = JsonField(null=True)  # pause path -> reminders sent for the current form
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hyphen_run"
        indexes = ((("org", "kind", "created_at"), False),)


register(
    "hyphen-workflows",
    [
        Migration(
            1, "hyphen workflows, actions and run index", create_tables(Workflow, Action, RunIndex)
        )
    ],
)
