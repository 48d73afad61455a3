"""Harnesslayer tables. Every row belongs to an organization (a core Tenant of `harnesslayer`).

Apps, access groups and profiles so far; versions, states, channels and runs follow.
"""

from __future__ import annotations

import peewee

from agentyard.core.keys import Tenant
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, JsonField
from agentyard.core.vault import EncryptedField


class User(BaseModel):
    """An owner: holds user API keys (`uk-`), owns organizations."""

    id = peewee.CharField(primary_key=True, max_length=40)  # usr-<ulid>
    name = peewee.CharField(max_length=128)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hl_user"


class Organization(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=40)  # org-<ulid>
    tenant = peewee.ForeignKeyField(Tenant, unique=True, on_delete="CASCADE")
    slug = peewee.CharField(max_length=64, unique=True)
    name = peewee.CharField(max_length=128)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "hl_organization"


class Membership(BaseModel):
    organization = peewee.ForeignKeyField(Organization, on_delete="CASCADE")
    user = peewee.ForeignKeyField(User, on_delete="CASCADE")
    role = peewee.CharField(max_length=16, default="owner")
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hl_membership"
        primary_key = peewee.CompositeKey("organization", "user")


class App(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=40)  # app-<ulid>
    organization = peewee.ForeignKeyField(Organization, on_delete="CASCADE")
    organization_id: str  # peewee's id accessor, declared for type checkers
    slug = peewee.CharField(max_length=64)
    name = peewee.CharField(max_length=128)
    type = peewee.CharField(max_length=16)
    credentials = EncryptedField(null=True)  # JSON list of {name, value}, never returned
    head_version_id = peewee.CharField(max_length=128, null=True)
    default_access_group_id = peewee.CharField(max_length=40, null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()
    deleted_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hl_app"


# A slug is unique among an organization's live apps (a deleted app frees it).
App.add_index(App.index(App.organization, App.slug, unique=True, where=App.deleted_at.is_null()))


class AccessGroup(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=40)  # ag-<ulid>
    app = peewee.ForeignKeyField(App, on_delete="CASCADE")
    app_id: str  # peewee's id accessor, declared for type checkers
    name = peewee.CharField(max_length=128)
    limit = peewee.BigIntegerField()
    limit_reset = peewee.CharField(max_length=8)
    limit_message = peewee.TextField(null=True)
    is_default = peewee.BooleanField(default=False)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "hl_access_group"


class Profile(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=40)  # prof-<ulid>
    app = peewee.ForeignKeyField(App, on_delete="CASCADE")
    app_id: str  # peewee's id accessor, declared for type checkers
    identifier = peewee.CharField(max_length=256)
    metadata = JsonField(null=True)
    access_group_id = peewee.CharField(max_length=40, null=True)
    head_state_id = peewee.CharField(max_length=128, null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()
    deleted_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hl_profile"


Profile.add_index(
    Profile.index(Profile.app, Profile.identifier, unique=True, where=Profile.deleted_at.is_null())
)

TABLES = (User, Organization, Membership, App, AccessGroup, Profile)
register(
    "harnesslayer", [Migration(1, "organizations, apps, groups, profiles", create_tables(*TABLES))]
)
