"""Tables of traces (migration component `hasp-studio-traces`): each run's stored trace (the
redacted document, the originals encrypted with `core.vault`), the org's PHI elevation policy,
and PHI elevation grants.

A trace is built from the run's engine records (`trace_document`), redacted (`trace_redaction`)
and stored here; it is rebuilt when the run moved on since (`built_for` names the run state it
was built from). The originals are a vault ciphertext bound to the run id (context
`hasp.studio.trace.<run id>`); only an elevation (`traces.elevate`) decrypts them.
"""

from __future__ import annotations

import peewee

from agentyard.core.keys import Tenant
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, JsonField


class StoredTrace(BaseModel):
    """A run's trace: redacted for every viewer, the original values encrypted."""

    run_id = peewee.CharField(primary_key=True, max_length=40)
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    tenant_id: str
    built_for = peewee.CharField(max_length=120)  # the run state it was built from
    redacted = JsonField()  # the trace document, PHI replaced by placeholders
    originals = peewee.TextField()  # vault token of the unredacted document
    revealed = JsonField()  # what an elevation reveals: {entity_types: {type: n}, fields: [..]}
    built_at = peewee.DateTimeField()

    class Meta:
        table_name = "hasp_studio_trace"


class PhiElevationPolicy(BaseModel):
    """Who may see a trace unredacted: the least org role (None: nobody, the default) and how
    long an elevated view lasts."""

    tenant = peewee.ForeignKeyField(Tenant, primary_key=True, on_delete="CASCADE")
    tenant_id: str
    elevation_role = peewee.CharField(max_length=16, null=True)
    elevation_minutes = peewee.IntegerField(default=15)
    updated_at = peewee.DateTimeField(null=True)
    updated_by = peewee.CharField(max_length=40, null=True)

    class Meta:
        table_name = "hasp_studio_phi_elevation_policy"


class PhiElevation(BaseModel):
    """One granted elevation: who saw which trace unredacted, why, until when."""

    id = peewee.CharField(primary_key=True, max_length=40)  # elv_<ulid>
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    tenant_id: str
    run_id = peewee.CharField(max_length=40)
    user_id = peewee.CharField(max_length=40)
    reason = peewee.TextField()
    created_at = peewee.DateTimeField()
    expires_at = peewee.DateTimeField()

    class Meta:
        table_name = "hasp_studio_phi_elevation"
        indexes = ((("run_id", "user_id"), False),)


TABLES = (StoredTrace, PhiElevationPolicy, PhiElevation)

register(
    "hasp-studio-traces",
    [Migration(1, "studio traces, PHI elevation policy and grants", create_tables(*TABLES))],
)
