"""Members for the operator: the dev owner on first start, `agentyard users create`, and the
surface's key hooks (Studio has no API keys: members sign in or use personal access tokens)."""

from __future__ import annotations

from agentyard.core import keys
from agentyard.core.keys import ApiKey, Minted
from agentyard.hasp import bootstrap as org_bootstrap
from agentyard.hasp.studio import SURFACE as STUDIO
from agentyard.hasp.studio import passwords, users
from agentyard.hasp.studio.models import StudioUser

__all__ = ["STUDIO", "bootstrap", "create_user", "describe", "mint"]

DEV_EMAIL = "owner@studio.localhost"
LOGIN_PATH = "/api/internal/auth/login"


def create_user(org_name: str, email: str, role: str, name: str = "") -> tuple[StudioUser, str]:
    """A new active member of org `org_name` (created when new) with a first password."""
    org, _ = org_bootstrap.ensure_org(org_name)
    password = passwords.generate()
    user = users.create(org, email, role, name=name, password=password)
    return user, password


def bootstrap(base_url: str) -> list[str]:
    """On a store without any Studio member: the dev org's owner and its password, once."""
    if StudioUser.select().exists():
        return []
    user, password = create_user(org_bootstrap.DEV_ORG, DEV_EMAIL, "owner", "Dev owner")
    return [
        f"hasp-studio: org '{org_bootstrap.DEV_ORG}', owner {user.email} password {password} "
        f"(shown once). Sign in: POST {base_url}{LOGIN_PATH}"
    ]


def mint(tenant: str, *, kind: str, scopes: list[str] | None, name: str, base_url: str) -> Minted:
    """Studio has no API keys: refused, naming the way in."""
    raise keys.KeyRequestError(
        "hasp-studio has no API keys: create a member with `agentyard users create "
        "--surface hasp-studio --org ORG --email E --role R`, then a personal access token "
        f"with POST {base_url}/api/internal/auth/tokens"
    )


def describe(key: ApiKey) -> str:
    return str(key.tenant.name)
