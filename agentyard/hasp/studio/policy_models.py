"""HASP Studio's org-level tables: project policies, the org release floor and integrations.

Their own migration component, `hasp-studio-org` (the product history `hasp` stays as it is).
The org PHI policy is not here: it is `OrgSettings.phi_mode` of the org core, the field the AI
gateway enforces. Integration secrets are vault ciphertexts (`core.vault.EncryptedField`).
"""

from __future__ import annotations

import peewee

from agentyard.core.keys import Tenant
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, JsonField
from agentyard.core.vault import EncryptedField
from agentyard.hasp.studio.models import Project


class ProjectPolicy(BaseModel):
    """A project's policy; `phi_mode` None follows the org's (a set one is never looser)."""

    project = peewee.ForeignKeyField(Project, primary_key=True, on_delete="CASCADE")
    phi_mode = peewee.CharField(max_length=8, null=True)
    allowed_models = JsonField(default=list)  # empty: every model the org may use
    retention_days = peewee.IntegerField(null=True)  # None: kept until deleted
    updated_at = peewee.DateTimeField(null=True)
    updated_by = peewee.CharField(max_length=40, null=True)

    class Meta:
        table_name = "hasp_studio_project_policy"


class ReleasePolicy(BaseModel):
    """The org's release floor (issue 16's release requests read it)."""

    tenant = peewee.ForeignKeyField(Tenant, primary_key=True, on_delete="CASCADE")
    min_approvals = peewee.IntegerField(default=1)
    allow_self_approval = peewee.BooleanField(default=False)
    updated_at = peewee.DateTimeField(null=True)
    updated_by = peewee.CharField(max_length=40, null=True)

    class Meta:
        table_name = "hasp_studio_release_policy"


class Integration(BaseModel):
    """An org's connection to an external system; its secret only as a vault ciphertext."""

    id = peewee.CharField(primary_key=True, max_length=40)  # int_<ulid>
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    tenant_id: str
    name = peewee.CharField(max_length=200)
    kind = peewee.CharField(max_length=20)
    config = JsonField(default=dict)
    secret = EncryptedField(null=True)
    secret_hint = peewee.CharField(max_length=8, null=True)  # the secret's last 4 characters
    created_by = peewee.CharField(max_length=40, null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()
    last_test = JsonField(null=True)  # {ok, latency_ms | error, at}

    class Meta:
        table_name = "hasp_studio_integration"
        indexes = ((("tenant", "name"), True),)


TABLES = (ProjectPolicy, ReleasePolicy, Integration)

register(
    "hasp-studio-org",
    [Migration(1, "studio policies and integrations", create_tables(*TABLES))],
)
