"""The store of AI workflow generation: one row per generation (`llm_gen-<uuid>`) and per
create-from-ai process (`wfc-<uuid>`), migrations component `hyphen-ai`.

A process row does its own generation (the same job code) and then creates what the draft
holds; `created` lists the workflow, actions and tables it made (or reused).
"""

from __future__ import annotations

import peewee

from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, JsonField

GENERATION, CREATION = "generation", "creation"


class Generation(BaseModel):
    """A generation or a create-from-ai process, its draft, validation and outcome."""

    id = peewee.CharField(primary_key=True, max_length=64)
    org = peewee.CharField(max_length=40)
    kind = peewee.CharField(max_length=16, default=GENERATION)
    prompt = peewee.TextField()
    llm_options = JsonField(null=True)
    options = JsonField(null=True)  # create-from-ai: the workflow name/description overrides
    status = peewee.CharField(max_length=16)  # processing | completed | failed
    stage = peewee.CharField(max_length=16)  # queued | generating | creating | done
    provider = peewee.CharField(max_length=32, null=True)
    offline = peewee.BooleanField(null=True)
    draft = JsonField(null=True)
    validation = JsonField(null=True)  # {valid, errors: [{where, message}], repaired, attempts}
    error = JsonField(null=True)  # {code, message}
    created = JsonField(null=True)  # {workflow_id, actions: [...], tables: [...]}
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()
    completed_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hyphen_ai_generation"
        indexes = ((("org", "kind", "created_at"), False),)


register(
    "hyphen-ai",
    [
        Migration(
            1, "AI workflow generations and create-from-ai processes", create_tables(Generation)
        )
    ],
)
