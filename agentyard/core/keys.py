"""Tenants and API keys shared by every surface.

A key is random, shown once, and stored as its SHA-256 digest with a short visible prefix.
Each surface picks its key format (`secret_factory`) and names its tenants (realm, org, ...).
A key has a *kind*: most surfaces have one (`api`); a surface with several kinds of credential
(Harnesslayer's user keys beside its organization keys) looks each up in its own kind, so a key
of one kind never authenticates a route of another.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
    kind = peewee.CharField(max_length=16, default="api")  # see DEFAULT_KIND
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
        Migration(3, "api key kind", add_columns(ApiKey, "kind")),
    ],
)

DEFAULT_KIND = "api"  # the kind of a surface's ordinary API keys

TENANT_NAME_MAX = 128  # core_tenant.name
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class KeyRequestError(ValueError):
    """An operator's key request that cannot be honoured (unknown scope, bad tenant name ...)."""


@dataclass(frozen=True)
class Minted:
    """A key a surface minted for an operator (CLI, bootstrap) and what came with it."""

    key: ApiKey
    secret: str  # shown once, never stored
    owner: str  # whom the key acts for, as the operator names it: "realm team-a", ...
    created: tuple[str, ...] = ()  # what was created for it, e.g. "organization acme"
    notes: tuple[str, ...] = ()  # what the operator should know or do next


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


def check_tenant_name(name: str, label: str = "tenant") -> str:
    """`name` when it can name a tenant (1-128 characters, no control characters)."""
    if not name.strip() or len(name) > TENANT_NAME_MAX or _CONTROL.search(name):
        raise KeyRequestError(
            f"{label} name must be 1-{TENANT_NAME_MAX} characters without control characters"
        )
    return name


def check_kind(kind: str, known: Sequence[str]) -> str:
    """`kind` when it is one of a surface's key kinds."""
    if kind not in known:
        raise KeyRequestError(f"unknown key kind {kind!r}; known: {', '.join(known)}")
    return kind


def choose_scopes(
    requested: Sequence[str] | None, known: Sequence[str], default: Sequence[str]
) -> tuple[list[str], str | None]:
    """The scopes a new key gets and a note when they were defaulted.

    `requested` None or empty takes `default`; an unknown scope is refused, naming the known
    ones (a surface whose keys take no scopes knows none).
    """
    if not requested:
        if not default:
            return [], None
        return list(default), (
            f"no scopes given: the key gets {', '.join(default)} (all known: {', '.join(known)})"
        )
    unknown = [s for s in requested if s not in known]
    if unknown:
        if not known:
            raise KeyRequestError("these keys take no scopes")
        raise KeyRequestError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return list(dict.fromkeys(requested)), None


def create_key(
    tenant: Tenant,
    secret_factory: Callable[[], str],
    name: str = "",
    scopes: list[str] | None = None,
    kind: str = DEFAULT_KIND,
) -> tuple[ApiKey, str]:
    """Mint a key for `tenant`; returns the row and the secret (shown once, never stored)."""
    secret = secret_factory()
    key = ApiKey.create(
        id=ids.new_id("key"),
        tenant=tenant,
        surface=tenant.surface,
        kind=kind,
        name=name,
        prefix=secret[:16],
        last_four=secret[-4:],
        digest=digest(secret),
        scopes=",".join(scopes or []),
        created_at=clock.now(),
    )
    return key, secret


def lookup(surface: str, secret: str, kind: str = DEFAULT_KIND) -> ApiKey | None:
    """The live (unrevoked) key of `surface` and `kind` whose secret this is, with its tenant.

    One query on the unique digest index.
    """
    if not secret or len(secret) > 256:
        return None
    return (
        ApiKey.select(ApiKey, Tenant)
        .join(Tenant)
        .where(
            (ApiKey.digest == digest(secret))
            & (ApiKey.surface == surface)
            & (ApiKey.kind == kind)
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
    """Every key of `surface`, of every kind, oldest first."""
    return list(
        ApiKey.select(ApiKey, Tenant)
        .join(Tenant)
        .where(ApiKey.surface == surface)
        .order_by(ApiKey.created_at, ApiKey.id)
    )


ELLIPSES = ("…", "...")


def shown(key: ApiKey) -> str:
    """How a key is shown once its secret is gone: `<prefix>…<last four>`."""
    return f"{key.prefix}…{key.last_four}"


def _matching(surface: str, ref: str) -> peewee.Expression:
    """Keys of `surface` that `ref` names: an id, the secret itself, a visible prefix, or the
    `prefix…last4` form `shown()` prints (`...` for `…` too; the last four may be left off)."""
    named = (ApiKey.id == ref) | (ApiKey.digest == digest(ref)) | (ApiKey.prefix == ref)
    for mark in ELLIPSES:
        if mark in ref:
            head, _, tail = ref.partition(mark)
            shown_form = ApiKey.prefix == head
            if tail:
                shown_form &= ApiKey.last_four == tail
            named |= shown_form
    return (ApiKey.surface == surface) & named


def revoke(surface: str, ref: str) -> ApiKey | None:
    """Revoke the live key of `surface` that `ref` names (see `_matching`); None when no live
    key matches. KeyRequestError when `ref` names several live keys (a shared prefix)."""
    ref = ref.strip()
    if not ref or len(ref) > 256:
        return None
    with write():
        live = list(ApiKey.select().where(_matching(surface, ref) & ApiKey.revoked_at.is_null()))
        if len(live) > 1:
            raise KeyRequestError(
                f"{ref} names {len(live)} keys ({', '.join(k.id for k in live)}); revoke by id"
            )
        if not live:
            return None
        key = live[0]
        key.revoked_at = clock.now()
        ApiKey.update(revoked_at=key.revoked_at).where(ApiKey.id == key.id).execute()
    return key


def has_tenants(surface: str) -> bool:
    return Tenant.select().where(Tenant.surface == surface).exists()
