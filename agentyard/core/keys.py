"""Tenants and API keys shared by every surface.

A key is random, shown once, and stored as its SHA-256 digest with a short visible prefix.
Each surface picks its key format (`secret_factory`) and names its tenants (realm, org, ...).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable

import peewee

from agentyard.core import clock, ids
from agentyard.core.migrations import Migration, add_columns, create_tables, register
from agentyard.core.store import BaseModel, write


class Tenant(BaseModel):
    """A surface's tenant: an AISP realm, a HASP org, a Hyphen org, ..."""

    id = peewee.CharField(primary_key=True, max_length=40)
    surface = peewee.CharField(max_length=32)
    name = peewee.CharField(max_length=128)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "core_tenant"
        indexes = ((("surface", "name"), True),)


class ApiKey(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=40)
    tenant = peewee.ForeignKeyField(Tenant, backref="keys", on_delete="CASCADE")
    surface = peewee.CharField(max_length=32)
    name = peewee.CharField(max_length=128, default="")
    prefix = peewee.CharField(max_length=24)
    digest = peewee.CharField(max_length=64, unique=True)
    scopes = peewee.TextField(default="")
    created_at = peewee.DateTimeField()
    revoked_at = peewee.DateTimeField(null=True)
    last_four = peewee.CharField(max_length=4, default="")
    last_used_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "core_api_key"

    @property
    def scope_list(self) -> list[str]:
        return [s for s in self.scopes.split(",") if s]


register(
    "core",
    [
        Migration(1, "tenants and api keys", create_tables(Tenant, ApiKey)),
        Migration(
            2,
            "api key last_four and last_used_at",
            add_columns(ApiKey, "last_four", "last_used_at"),
        ),
    ],
)

# A key's last use is written at most this often, so hot keys do not write on every request.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


def digest(secret: str) -> str:
    """The SHA-256 hex digest a key is stored as."""
    return hashlib.sha256(secret.encode()).hexdigest()


def random_secret(prefix: str, nbytes: int = 16) -> str:
    """`<prefix><2*nbytes hex>`, e.g. `aisp_key_3f...`."""
    return prefix + secrets.token_hex(nbytes)


def get_or_create_tenant(surface: str, name: str) -> tuple[Tenant, bool]:
    """The tenant `name` of `surface`, created when absent."""
    with write():
        tenant = Tenant.get_or_none((Tenant.surface == surface) & (Tenant.name == name))
        if tenant is not None:
            return tenant, False
        tenant = Tenant.create(
            id=ids.new_id("ten"), surface=surface, name=name, created_at=clock.now()
        )
        return tenant, True


def find_tenant(surface: str, name: str) -> Tenant | None:
    return Tenant.get_or_none((Tenant.surface == surface) & (Tenant.name == name))


def create_key(
    tenant: Tenant,
    secret_factory: Callable[[], str],
    name: str = "",
    scopes: list[str] | None = None,
) -> tuple[ApiKey, str]:
    """Mint a key for `tenant`; returns the row and the secret (shown once, never stored)."""
    secret = secret_factory()
    key = ApiKey.create(
        id=ids.new_id("key"),
        tenant=tenant,
        surface=tenant.surface,
        name=name,
        prefix=secret[:16],
        last_four=secret[-4:],
        digest=digest(secret),
        scopes=",".join(scopes or []),
        created_at=clock.now(),
    )
    return key, secret


def lookup(surface: str, secret: str) -> ApiKey | None:
    """The live (unrevoked) key of `surface` whose secret this is, with its tenant."""
    if not secret or len(secret) > 256:
        return None
    return (
        ApiKey.select(ApiKey, Tenant)
        .join(Tenant)
        .where(
            (ApiKey.digest == digest(secret))
            & (ApiKey.surface == surface)
            & (ApiKey.revoked_at.is_null())
        )
        .first()
    )


def touch(key: ApiKey) -> None:
    """Record that `key` was used now (at most once per LAST_USED_RESOLUTION)."""
    now = clock.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.update(last_used_at=now).where(ApiKey.id == key.id).execute()
    key.last_used_at = now


def list_keys(surface: str) -> list[ApiKey]:
    return list(
        ApiKey.select(ApiKey, Tenant)
        .join(Tenant)
        .where(ApiKey.surface == surface)
        .order_by(ApiKey.created_at, ApiKey.id)
    )


def revoke(surface: str, key_id: str) -> bool:
    """Revoke a key by id or visible prefix; False when no live key matched."""
    with write():
        rows = (
            ApiKey.update(revoked_at=clock.now())
            .where(
                (ApiKey.surface == surface)
                & ((ApiKey.id == key_id) | (ApiKey.prefix == key_id))
                & (ApiKey.revoked_at.is_null())
            )
            .execute()
        )
    return rows > 0


def has_tenants(surface: str) -> bool:
    return Tenant.select().where(Tenant.surface == surface).exists()
