"""HASP Studio's tables: members (users of an org), their sessions and personal access tokens,
projects, project membership and invitations (their emails go through `core.outbox`).

Every row belongs to a HASP org (a core Tenant) directly or through its user or project.
Secrets (session cookies, CSRF tokens, access tokens, invitation tokens) are stored only as
SHA-256 digests; passwords as argon2id hashes.
"""

from __future__ import annotations

import peewee

from agentyard.core.keys import Tenant
from agentyard.core.store import BaseModel


class StudioUser(BaseModel):
    """A member of an org: email (unique across orgs: it names one org at sign-in), org role."""

    id = peewee.CharField(primary_key=True, max_length=40)  # usr_<ulid>
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    tenant_id: str  # the foreign key's raw value, as peewee exposes it
    email = peewee.CharField(max_length=320, unique=True)  # lower-cased
    name = peewee.CharField(max_length=200, default="")
    role = peewee.CharField(max_length=16)  # org role, see roles.ROLES
    status = peewee.CharField(max_length=16, default="active")  # active | pending
    password_hash = peewee.CharField(max_length=200, null=True)
    created_at = peewee.DateTimeField()
    password_changed_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hasp_studio_user"


class StudioSession(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=40)  # ses_<ulid>
    user = peewee.ForeignKeyField(StudioUser, on_delete="CASCADE")
    digest = peewee.CharField(max_length=64, unique=True)
    csrf_digest = peewee.CharField(max_length=64)
    created_at = peewee.DateTimeField()
    last_seen_at = peewee.DateTimeField()
    expires_at = peewee.DateTimeField()  # absolute lifetime
    revoked_at = peewee.DateTimeField(null=True)
    ip_address = peewee.CharField(max_length=64, null=True)

    class Meta:
        table_name = "hasp_studio_session"


class StudioToken(BaseModel):
    """A personal access token `hasp_pat_<hex>` of a member."""

    id = peewee.CharField(primary_key=True, max_length=40)  # pat_<ulid>
    user = peewee.ForeignKeyField(StudioUser, on_delete="CASCADE")
    name = peewee.CharField(max_length=128)
    digest = peewee.CharField(max_length=64, unique=True)
    prefix = peewee.CharField(max_length=24)
    last_four = peewee.CharField(max_length=4)
    created_at = peewee.DateTimeField()
    expires_at = peewee.DateTimeField(null=True)
    last_used_at = peewee.DateTimeField(null=True)
    revoked_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hasp_studio_token"


class Project(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=40)  # prj_<ulid>
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    tenant_id: str  # the foreign key's raw value, as peewee exposes it
    slug = peewee.CharField(max_length=63)
    name = peewee.CharField(max_length=200)
    description = peewee.TextField(default="")
    created_by = peewee.CharField(max_length=40, null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()
    archived_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hasp_studio_project"
        indexes = ((("tenant", "slug"), True),)


class ProjectMember(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=40)  # pm_<ulid>
    project = peewee.ForeignKeyField(Project, on_delete="CASCADE")
    user = peewee.ForeignKeyField(StudioUser, on_delete="CASCADE")
    role = peewee.CharField(max_length=16)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hasp_studio_project_member"
        indexes = ((("project", "user"), True),)


class Invite(BaseModel):
    """A one-time set-password token of a pending user."""

    id = peewee.CharField(primary_key=True, max_length=40)  # inv_<ulid>
    user = peewee.ForeignKeyField(StudioUser, on_delete="CASCADE")
    digest = peewee.CharField(max_length=64, unique=True)
    created_at = peewee.DateTimeField()
    expires_at = peewee.DateTimeField()
    used_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hasp_studio_invite"


TABLES = (StudioUser, StudioSession, StudioToken, Project, ProjectMember, Invite)
