"""The SDK's tables (migrations component `hyphen-sdk`): publishable keys' scopes, their
pre-registered users, sessions, sign-in codes and sign-in locks.

A publishable key (`pk_live_`) is a core API key of kind `pk_live` on the org's tenant; its
scopes live in `SdkKey` (and its origins once more in `SdkKeyOrigin`, indexed, for preflights
that must ask "does any live key allow this origin"). Session tokens and codes are stored as
digests only.
"""

from __future__ import annotations

import peewee

from agentyard.core.keys import ApiKey, Tenant
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, JsonField


class SdkKey(BaseModel):
    """What a publishable key allows."""

    key = peewee.ForeignKeyField(ApiKey, primary_key=True, on_delete="CASCADE")
    key_id: str
    org = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    org_id: str
    allowed_origins = JsonField(default=list)
    allowed_workflows = JsonField(default=list)
    allowed_tables = JsonField(default=list)
    allowed_actions = JsonField(default=list)
    rate_limit_per_minute = peewee.IntegerField(default=60)

    class Meta:
        table_name = "hyphen_sdk_key"


class SdkKeyOrigin(BaseModel):
    """One allowed origin of a publishable key (normalized: lower case, no trailing slash)."""

    id = peewee.AutoField()
    key = peewee.ForeignKeyField(ApiKey, on_delete="CASCADE")
    key_id: str
    origin = peewee.CharField(max_length=300, index=True)

    class Meta:
        table_name = "hyphen_sdk_key_origin"


class SdkUser(BaseModel):
    """A user pre-registered on a publishable key: may sign in with an emailed code."""

    id = peewee.CharField(primary_key=True, max_length=40)
    key = peewee.ForeignKeyField(ApiKey, on_delete="CASCADE")
    key_id: str
    org = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    org_id: str
    email = peewee.CharField(max_length=254)  # lower case
    role = peewee.CharField(max_length=64, default="member")
    display_name = peewee.CharField(max_length=200, null=True)
    permissions = JsonField(default=list)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hyphen_sdk_user"
        indexes = ((("key", "email"), True),)


class SdkSession(BaseModel):
    """A browser session of a publishable key; `user` once signed in with a code."""

    id = peewee.CharField(primary_key=True, max_length=40)
    digest = peewee.CharField(max_length=64, unique=True)
    key = peewee.ForeignKeyField(ApiKey, on_delete="CASCADE")
    key_id: str
    org = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    org_id: str
    user = peewee.ForeignKeyField(SdkUser, null=True, on_delete="CASCADE")
    user_id: str | None
    origin = peewee.CharField(max_length=300, null=True)
    created_at = peewee.DateTimeField()
    expires_at = peewee.DateTimeField()
    authenticated_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hyphen_sdk_session"


class SdkOtp(BaseModel):
    """A sign-in code sent to a user: single use, expiring, stored as a salted digest."""

    id = peewee.CharField(primary_key=True, max_length=40)
    user = peewee.ForeignKeyField(SdkUser, on_delete="CASCADE")
    user_id: str
    digest = peewee.CharField(max_length=64)
    created_at = peewee.DateTimeField()
    expires_at = peewee.DateTimeField()
    used_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hyphen_sdk_otp"


class SdkOtpLock(BaseModel):
    """Wrong codes in a row for an email on a key (registered or not) and the lock they set."""

    id = peewee.AutoField()
    key = peewee.ForeignKeyField(ApiKey, on_delete="CASCADE")
    key_id: str
    email = peewee.CharField(max_length=254)
    failures = peewee.IntegerField(default=0)
    locked_until = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hyphen_sdk_otp_lock"
        indexes = ((("key", "email"), True),)


register(
    "hyphen-sdk",
    [
        Migration(
            1,
            "sdk keys, users, sessions and sign-in codes",
            create_tables(SdkKey, SdkKeyOrigin, SdkUser, SdkSession, SdkOtp, SdkOtpLock),
        )
    ],
)
