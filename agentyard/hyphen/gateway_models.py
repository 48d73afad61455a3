"""The tables of the gateway (migrations component `hyphen-gateway`): signup accounts, the
orgs each owns, per-key daily usage and the licences minted for orgs.

An account's management token (`mt-hyp-`) is a core API key of kind `management` (see
`agentyard.hyphen.gateway`); its org keys (`sk-hyp-`) are ordinary `api` keys whose one scope,
when any, is their permission (`read_only`, `execute_only`; none: `full`).
"""

from __future__ import annotations

import peewee

from agentyard.core.keys import ApiKey, Tenant
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, JsonField


class Account(BaseModel):
    """A signup account (the gateway's tenant): it owns orgs and one live management token."""

    id = peewee.CharField(primary_key=True, max_length=64)
    email = peewee.CharField(max_length=254, unique=True)
    name = peewee.CharField(max_length=128)
    token = peewee.ForeignKeyField(ApiKey, null=True, on_delete="SET NULL")
    token_id: str | None
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hyphen_gateway_account"


class AccountOrg(BaseModel):
    """An org (a core tenant of the `hyphen` key space) and the account owning it."""

    org = peewee.ForeignKeyField(Tenant, primary_key=True, on_delete="CASCADE")
    org_id: str
    account = peewee.ForeignKeyField(Account, on_delete="CASCADE")
    account_id: str
    name = peewee.CharField(max_length=100)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hyphen_gateway_org"
        indexes = ((("account", "name"), True),)


class KeyUsage(BaseModel):
    """What one key did on one UTC day: authenticated requests and runs started."""

    id = peewee.AutoField()
    key_id = peewee.CharField(max_length=40)
    org = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    org_id: str
    day = peewee.DateField()
    requests = peewee.IntegerField(default=0)
    runs = peewee.IntegerField(default=0)

    class Meta:
        table_name = "hyphen_gateway_usage"
        indexes = ((("key_id", "day"), True), (("org", "day"), False))


class License(BaseModel):
    """A licence minted for an org; `token` is the signed licence itself (see licensing)."""

    id = peewee.CharField(primary_key=True, max_length=64)
    org = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    org_id: str
    plan = peewee.CharField(max_length=64)
    seats = peewee.IntegerField()
    features = JsonField()
    issued_at = peewee.DateTimeField()
    expires_at = peewee.DateTimeField()
    token = peewee.TextField()

    class Meta:
        table_name = "hyphen_gateway_license"
        indexes = ((("org", "issued_at"), False),)


class SigningKey(BaseModel):
    """The server's Ed25519 licence signing key (one row, id 1), encrypted by the vault."""

    id = peewee.IntegerField(primary_key=True)
    private_key = peewee.TextField()
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hyphen_gateway_signing_key"


register(
    "hyphen-gateway",
    [
        Migration(
            1,
            "gateway accounts, their orgs, key usage, licences and the licence signing key",
            create_tables(Account, AccountOrg, KeyUsage, License, SigningKey),
        )
    ],
)
