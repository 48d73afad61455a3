"""Who is calling Harnesslayer: an organization API key (`dk-`) or a user API key (`uk-`)."""

from __future__ import annotations

from dataclasses import dataclass

from agentyard.core import clock, ids, keys, runtime
from agentyard.core.errors import ApiError
from agentyard.core.keys import Tenant
from agentyard.core.store import write
from agentyard.harnesslayer import SURFACE
from agentyard.harnesslayer.models import Organization, User

USERS = "harnesslayer-users"  # the core key space of user API keys (one tenant per user)


def new_org_secret() -> str:
    return keys.random_secret("dk-")


def new_user_secret() -> str:
    return keys.random_secret("uk-")


def unauthorized(message: str = "Missing or invalid API key") -> ApiError:
    return ApiError(401, "unauthorized", message)


def organization_of(tenant: Tenant) -> Organization:
    """The organization a key's tenant is (created for tenants made by `agentyard keys`)."""
    org = Organization.get_or_none(Organization.tenant == tenant)
    if org is not None:
        return org
    now = clock.now()
    with write():
        Organization.insert(
            id=ids.new_id("org", "-"),
            tenant=tenant,
            slug=tenant.name.lower()[:64],
            name=tenant.name,
            created_at=now,
            updated_at=now,
        ).on_conflict_ignore().execute()
    return Organization.get(Organization.tenant == tenant)


@dataclass(frozen=True)
class OrgCaller:
    organization: Organization
    key_id: str


def org_caller(secret: str) -> OrgCaller:
    """The organization a `dk-` key belongs to; 401 otherwise."""
    if not secret.startswith("dk-"):
        raise unauthorized("This route takes an organization API key (dk-...)")
    key = keys.lookup(SURFACE, secret)
    if key is None:
        raise unauthorized()
    keys.touch(key)
    rate_limit("key", key.id)
    return OrgCaller(organization_of(key.tenant), key.id)


def user_caller(secret: str) -> User:
    """The user a `uk-` key belongs to; 401 otherwise."""
    if not secret.startswith("uk-"):
        raise unauthorized("This route takes a user API key (uk-...)")
    key = keys.lookup(USERS, secret)
    user = User.get_or_none(User.id == key.tenant.name) if key else None
    if user is None:
        raise unauthorized()
    keys.touch(key)
    rate_limit("key", key.id)
    return user


def rate_limit(*identifiers: str) -> None:
    """Count one request against `identifiers` (a key, a signed token, a channel); 429
    `rate_limited` with Retry-After past AGENTYARD_HARNESSLAYER_REQUESTS_PER_MINUTE."""
    per_minute = runtime.settings().harnesslayer_requests_per_minute
    runtime.current().limiter.enforce(per_minute, SURFACE, *identifiers)


def create_user(name: str) -> tuple[User, str]:
    """A new user and its first API key (the secret, shown once)."""
    now = clock.now()
    with write():
        user = User.create(id=ids.new_id("usr", "-"), name=name, created_at=now)
        tenant, _ = keys.get_or_create_tenant(USERS, user.id)
        _, secret = keys.create_key(tenant, new_user_secret, name=name)
    return user, secret
