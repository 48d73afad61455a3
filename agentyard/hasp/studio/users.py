"""Members of an org: creation (operator CLI, invitations), lookup and their public view."""

from __future__ import annotations

from typing import Any

from agentyard.core import clock, ids
from agentyard.core.keys import Tenant
from agentyard.core.store import write
from agentyard.hasp.studio import passwords
from agentyard.hasp.studio.errors import conflict, invalid
from agentyard.hasp.studio.models import StudioUser
from agentyard.hasp.studio.roles import ROLES


def normal_email(email: str) -> str:
    """The stored form of an email (trimmed, lower case); 422 when it is not one."""
    value = email.strip().lower()
    local, _, domain = value.partition("@")
    if not local or not domain or " " in value or len(value) > 320:
        raise invalid("email is not an email address", "email")
    return value


def by_email(email: str) -> StudioUser | None:
    return StudioUser.get_or_none(StudioUser.email == email.strip().lower())


def view(user: StudioUser) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "status": user.status,
        "created_at": clock.iso(user.created_at),
    }


def create(
    org: Tenant,
    email: str,
    role: str,
    *,
    name: str = "",
    password: str | None = None,
    status: str = "active",
) -> StudioUser:
    """A new user of `org`; 409 when the email already has an account (in any org)."""
    if role not in ROLES:
        raise invalid(f"role must be one of {', '.join(reversed(ROLES))}", "role")
    address = normal_email(email)
    with write():
        if by_email(address) is not None:
            raise conflict("An account with this email exists already")
        return StudioUser.create(
            id=ids.new_id("usr"),
            tenant=org,
            email=address,
            name=name,
            role=role,
            status=status,
            password_hash=passwords.hash_password(password) if password else None,
            created_at=clock.now(),
            password_changed_at=clock.now() if password else None,
        )
