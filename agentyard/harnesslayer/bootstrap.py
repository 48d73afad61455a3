"""First start: a dev user (user API key) owning an organization `default` (org API key)."""

from __future__ import annotations

from agentyard.core import keys
from agentyard.harnesslayer import SURFACE, orgs
from agentyard.harnesslayer.auth import create_user


def bootstrap() -> list[str]:
    if keys.has_tenants(SURFACE):
        return []
    user, user_secret = create_user("dev")
    org, org_secret, _ = orgs.create(user, "Default", "default", return_if_exist=False)
    return [
        f"harnesslayer: user API key {user_secret} (organization routes; shown once)",
        f"harnesslayer: organization '{org.slug}', API key {org_secret} (shown once)",
    ]
