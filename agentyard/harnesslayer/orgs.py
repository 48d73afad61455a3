"""Organizations: created by a user (its owner), each with its own API key (`dk-`)."""

from __future__ import annotations

from typing import Any

from agentyard.core import clock, ids, keys
from agentyard.core.errors import ApiError, not_found
from agentyard.core.store import write
from agentyard.harnesslayer import SURFACE
from agentyard.harnesslayer.auth import new_org_secret
from agentyard.harnesslayer.models import Membership, Organization, User

RESERVED = {"list", "create"}


def view(org: Organization) -> dict[str, Any]:
    return {
        "id": org.id,
        "slug": org.slug,
        "name": org.name,
        "createdAt": clock.iso(org.created_at),
        "updatedAt": clock.iso(org.updated_at),
    }


def check_slug(slug: str) -> None:
    if slug in RESERVED:
        raise ApiError(400, "bad_request", f"slug {slug!r} is reserved")


def owned_by(user: User, org: Organization) -> bool:
    return (
        Membership.select()
        .where((Membership.user == user) & (Membership.organization == org))
        .exists()
    )


def create(
    user: User, name: str, slug: str, return_if_exist: bool
) -> tuple[Organization, str | None, bool]:
    """(organization, its new API key or None, created?). Slugs are unique server-wide."""
    check_slug(slug)
    with write():
        existing = Organization.get_or_none(Organization.slug == slug)
        if existing is not None:
            if return_if_exist and owned_by(user, existing):
                return existing, None, False
            raise ApiError(409, "conflict", f"An organization with slug {slug!r} already exists")
        org_id = ids.new_id("org", "-")
        tenant, _ = keys.get_or_create_tenant(SURFACE, org_id)
        now = clock.now()
        org = Organization.create(
            id=org_id, tenant=tenant, slug=slug, name=name, created_at=now, updated_at=now
        )
        Membership.create(organization=org, user=user, role="owner", created_at=now)
        _, secret = keys.create_key(tenant, new_org_secret, name="default")
    return org, secret, True


def find_owned(user: User, id_or_slug: str) -> Organization:
    """An organization the user owns, by display id or slug; 404 otherwise."""
    org = Organization.get_or_none(
        (Organization.id == id_or_slug) | (Organization.slug == id_or_slug)
    )
    if org is None or not owned_by(user, org):
        raise not_found("organization", id_or_slug)
    return org


def update(user: User, id_or_slug: str, changes: dict[str, Any]) -> Organization:
    with write():
        org = find_owned(user, id_or_slug)
        if "slug" in changes and changes["slug"] != org.slug:
            check_slug(changes["slug"])
            if Organization.select().where(Organization.slug == changes["slug"]).exists():
                raise ApiError(409, "conflict", f"Slug {changes['slug']!r} is taken")
            org.slug = changes["slug"]
        if "name" in changes:
            org.name = changes["name"]
        org.updated_at = clock.now()
        org.save()
    return org
