"""Tables of releases: a release (a whole-project snapshot, "the contract version"), its
approvals, and each project's deployment (which release is published), with their own migration
component (`hasp-studio-releases`).

The release lifecycle (request, approve, reject, cancel, deploy, rollback) is `releases`; what
is published, and the published version of a workflow, is `contract_versions`.
"""

from __future__ import annotations

import peewee

from agentyard.core.keys import Tenant
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, JsonField
from agentyard.hasp.studio.models import Project

# requested → approved → published; requested|approved → rejected | cancelled (the project is
# back to draft); published → superseded when another release of the project is published.
STATES = ("requested", "approved", "published", "superseded", "rejected", "cancelled")
OPEN_STATES = ("requested", "approved")  # the project is soft-locked while one is open


class StudioRelease(BaseModel):
    """A release of a project: the snapshot taken when it was requested and what it changes."""

    id = peewee.CharField(primary_key=True, max_length=40)  # rel_<ulid>
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    tenant_id: str
    project = peewee.ForeignKeyField(Project, on_delete="CASCADE")
    project_id: str
    number = peewee.IntegerField()  # 1, 2, ... per project
    state = peewee.CharField(max_length=16)
    title = peewee.CharField(max_length=200, default="")
    notes = peewee.TextField(default="")
    snapshot = JsonField()  # see contract_versions.take_snapshot
    summary = peewee.TextField(default="")  # the immutable changelog entry
    diff = JsonField(default=dict)  # per-resource diff against the published release
    impact = JsonField(default=dict)  # migration impact: entity changes touching records
    rollback_of = peewee.CharField(max_length=40, null=True)  # the release a rollback re-publishes
    emergency = peewee.BooleanField(default=False)
    reason = peewee.TextField(null=True)  # reject / cancel / emergency reason
    requested_by = peewee.CharField(max_length=40, null=True)
    decided_by = peewee.CharField(max_length=40, null=True)  # who rejected / cancelled
    deployed_by = peewee.CharField(max_length=40, null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()
    approved_at = peewee.DateTimeField(null=True)
    published_at = peewee.DateTimeField(null=True)
    closed_at = peewee.DateTimeField(null=True)  # rejected, cancelled or superseded

    class Meta:
        table_name = "hasp_studio_release"
        indexes = (
            (("project", "number"), True),
            (("tenant", "state"), False),
        )


class ReleaseApproval(BaseModel):
    """One reviewer's approval of a release (one per reviewer)."""

    id = peewee.CharField(primary_key=True, max_length=40)  # apr_<ulid>
    release = peewee.ForeignKeyField(StudioRelease, on_delete="CASCADE")
    release_id: str
    user_id = peewee.CharField(max_length=40)
    comment = peewee.TextField(default="")
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hasp_studio_release_approval"
        indexes = ((("release", "user_id"), True),)


class Deployment(BaseModel):
    """Which release of a project is published (absent: nothing published yet)."""

    project = peewee.ForeignKeyField(Project, primary_key=True, on_delete="CASCADE")
    project_id: str
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    tenant_id: str
    release = peewee.ForeignKeyField(StudioRelease, on_delete="CASCADE")
    release_id: str
    published_at = peewee.DateTimeField()

    class Meta:
        table_name = "hasp_studio_deployment"


TABLES = (StudioRelease, ReleaseApproval, Deployment)

register(
    "hasp-studio-releases",
    [Migration(1, "studio releases, approvals, deployments", create_tables(*TABLES))],
)
