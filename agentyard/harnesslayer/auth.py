"""Who is calling Harnesslayer: an organization API key (`dk-`) or a user API key (`uk-`).

Both live in the `harnesslayer` key space of core/keys, as two kinds: `api` (organization keys,
tenant = the organization) and `user` (user keys, tenant = one per user, named by its id).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import cast

import peewee

from agentyard.core import clock, ids, keys, runtime
from agentyard.core.errors import unauthorized
from agentyard.core.keys import ApiKey, Tenant
from agentyard.core.migrations import Migration, register
from agentyard.core.store import Prepared, write
from agentyard.harnesslayer import SURFACE
from agentyard.harnesslayer.models import Organization, User

ORG_KEY = keys.DEFAULT_KIND  # `dk-` keys
USER_KEY = "user"  # `uk-` keys
KINDS = (ORG_KEY, USER_KEY)

# Before key kinds, user keys (and their one-per-user tenants) had a key space of their own.
_LEGACY_USERS = "harnesslayer-users"


def _move_user_keys(database: peewee.Database) -> None:
    Tenant.update(surface=SURFACE).where(Tenant.surface == _LEGACY_USERS).execute()
    ApiKey.update(surface=SURFACE, kind=USER_KEY).where(ApiKey.surface == _LEGACY_USERS).execute()


register(
    "harnesslayer_keys",
    [Migration(1, "user keys: kind 'user' of the harnesslayer key space", _move_user_keys)],
)


def new_org_secret() -> str:
    return keys.random_secret("dk-")


def new_user_secret() -> str:
    return keys.random_secret("uk-")


_ORGANIZATION: Prepared[Organization] = Prepared(
    lambda tenant_id: Organization.select().where(Organization.tenant == tenant_id).limit(1)
)


def organization_of(tenant: Tenant) -> Organization:
    """The organization a key's tenant is.

    Organizations are made with their tenant; a tenant an older `agentyard keys` made without
    one gets it here, slugged after the tenant's name (or, when that slug is taken, made unique
    with the tenant's id).
    """
    found = _ORGANIZATION(tenant.id)  # on every key-authenticated request: SQL compiled once
    if found:
        return found[0]
    now = clock.now()
    base = tenant.name.lower()[:64]
    for slug in (base, f"{base[:47]}-{tenant.id[-16:].lower()}"):
        with write():
            Organization.insert(
                id=ids.new_id("org", "-"),
                tenant=tenant,
                slug=slug,
                name=tenant.name,
                created_at=now,
                updated_at=now,
            ).on_conflict_ignore().execute()
        org = Organization.get_or_none(Organization.tenant == tenant)
        if org is not None:
            return org
    raise RuntimeError(f"no organization for tenant {tenant.id}")


@functools.lru_cache(maxsize=65536)
def organization_id(tenant_id: str) -> str:
    """The id of the organization a key's tenant is: fixed for the tenant's life, so each
    process asks the store once per tenant, not on every key-authenticated request."""
    return str(organization_of(Tenant.get_by_id(tenant_id)).id)


@dataclass(frozen=True)
class OrgCaller:
    """An organization key's caller. `organization` is a reference to the caller's
    organization (its id: what queries filter on and new rows point at), not its row: read
    the row for its name or slug."""

    organization: Organization
    key_id: str


def org_caller(secret: str) -> OrgCaller:
    """The organization a `dk-` key belongs to; 401 otherwise."""
    if not secret.startswith("dk-"):
        raise unauthorized("This route takes an organization API key (dk-...)")
    key = keys.lookup(SURFACE, secret, ORG_KEY)
    if key is None:
        raise unauthorized()
    keys.touch(key)
    rate_limit("key", key.id)
    tenant_id = key.tenant.id  # the lookup joined the tenant
    return OrgCaller(Organization(id=organization_id(tenant_id), tenant=tenant_id), key.id)


def user_caller(secret: str) -> User:
    """The user a `uk-` key belongs to; 401 otherwise."""
    if not secret.startswith("uk-"):
        raise unauthorized("This route takes a user API key (uk-...)")
    key = keys.lookup(SURFACE, secret, USER_KEY)
    user = User.get_or_none(User.id == key.tenant.name) if key else None
    if user is None:
        raise unauthorized()
    key = cast(ApiKey, key)  # a user was found, so through a key
    keys.touch(key)
    rate_limit("key", key.id)
    return user


def rate_limit(*identifiers: str) -> None:
    """Count one request against `identifiers` (a key, a signed token, a channel); 429
    `rate_limited` with Retry-After past AGENTYARD_HARNESSLAYER_REQUESTS_PER_MINUTE."""
    per_minute = runtime.settings().harnesslayer_requests_per_minute
    runtime.current().limiter.enforce(per_minute, SURFACE, *identifiers)


def new_user(name: str) -> User:
    """A new user (no key yet)."""
    return User.create(id=ids.new_id("usr", "-"), name=name, created_at=clock.now())


def create_user_key(user: User, name: str = "") -> tuple[ApiKey, str]:
    """Another user API key of `user` (the secret, shown once)."""
    with write():
        tenant, _ = keys.get_or_create_tenant(SURFACE, user.id)
        return keys.create_key(tenant, new_user_secret, name=name, kind=USER_KEY)


def create_user(name: str) -> tuple[User, str]:
    """A new user and its first API key (the secret, shown once)."""
    with write():
        user = new_user(name)
        _, secret = create_user_key(user, name)
    return user, secret
