"""Keys for the operator (first start and `agentyard keys`): organization keys (`dk-`) and the
user keys (`uk-`) of organization owners.

On first start: a dev user owning an organization `default`, a key of each kind printed once.
"""

from __future__ import annotations

import re

from agentyard.core import clock, ids, keys
from agentyard.core.keys import ApiKey, KeyRequestError, Minted
from agentyard.core.store import write
from agentyard.harnesslayer import SURFACE, orgs
from agentyard.harnesslayer.auth import (
    KINDS,
    ORG_KEY,
    USER_KEY,
    create_user_key,
    new_org_secret,
    new_user,
)
from agentyard.harnesslayer.models import Membership, Organization, User

DEV_ORG = "default"
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")  # the spec's Slug


def find_org(ref: str) -> Organization | None:
    """An organization by slug or display id."""
    return Organization.get_or_none((Organization.slug == ref) | (Organization.id == ref))


def ensure_org(ref: str, name: str | None = None) -> tuple[Organization, bool]:
    """The organization `ref` (slug or id), created with that slug when none has it."""
    with write():
        org = find_org(ref)
        if org is not None:
            return org, False
        if not SLUG.fullmatch(ref) or ref in orgs.RESERVED:
            raise KeyRequestError(
                f"no organization {ref!r}, and it cannot be a new one's slug: lowercase "
                "letters, digits and inner hyphens, 1-64 characters, not 'list' or 'create'"
            )
        org_id = ids.new_id("org", "-")
        tenant, _ = keys.get_or_create_tenant(SURFACE, org_id)
        now = clock.now()
        org = Organization.create(
            id=org_id, tenant=tenant, slug=ref, name=name or ref, created_at=now, updated_at=now
        )
    return org, True


def _owner(org: Organization) -> User | None:
    return (
        User.select()
        .join(Membership)
        .where((Membership.organization == org) & (Membership.role == "owner"))
        .order_by(Membership.created_at)
        .first()
    )


def _user_label(user: User) -> str:
    owns = (
        Organization.select(Organization.slug)
        .join(Membership)
        .where(Membership.user == user)
        .order_by(Organization.slug)
    )
    slugs = ", ".join(o.slug for o in owns) or "no organization"
    return f"user {user.id} ({user.name}; owns {slugs})"


def mint(tenant: str, *, kind: str, scopes: list[str] | None, name: str, base_url: str) -> Minted:
    """A key of `kind` for `tenant`: an organization (slug or id, created when new) or, for a
    user key, that organization's owner (a new user owning it when it has none) or a user
    named by id (`usr-...`)."""
    keys.choose_scopes(scopes, known=(), default=())  # Harnesslayer keys have no scopes
    keys.check_kind(kind, KINDS)
    created: list[str] = []
    with write():
        if kind == USER_KEY and ids.is_id(tenant, "usr", "-"):
            user = User.get_or_none(User.id == tenant)
            if user is None:
                raise KeyRequestError(f"no user {tenant}")
        else:
            org, made = ensure_org(tenant)
            if made:
                created.append(f"organization {org.slug}")
            if kind == ORG_KEY:
                key, secret = keys.create_key(org.tenant, new_org_secret, name=name)
                return Minted(key, secret, f"organization {org.slug}", tuple(created))
            user = _owner(org)
            if user is None:
                user = new_user(name or "operator")
                Membership.create(organization=org, user=user, role="owner", created_at=clock.now())
                created.append(f"user {user.id}, owner of organization {org.slug}")
        key, secret = create_user_key(user, name)
    return Minted(key, secret, _user_label(user), tuple(created))


def describe(key: ApiKey) -> str:
    """Whom a key acts for, for `agentyard keys list`."""
    if key.kind == USER_KEY:
        user = User.get_or_none(User.id == key.tenant.name)
        return _user_label(user) if user else f"user {key.tenant.name}"
    org = Organization.get_or_none(Organization.tenant == key.tenant)
    return org.slug if org else key.tenant.name


def bootstrap(base_url: str) -> list[str]:
    """The dev user and organization when the store has no Harnesslayer tenant yet."""
    if keys.has_tenants(SURFACE):
        return []
    ensure_org(DEV_ORG, name="Default")
    user_key = mint(DEV_ORG, kind=USER_KEY, scopes=None, name="dev", base_url=base_url)
    org_key = mint(DEV_ORG, kind=ORG_KEY, scopes=None, name="dev", base_url=base_url)
    return [
        f"harnesslayer: user API key {user_key.secret} (organization routes; shown once)",
        f"harnesslayer: organization '{DEV_ORG}', API key {org_key.secret} (shown once)",
    ]
