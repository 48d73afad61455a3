"""Connexion security functions for Harnesslayer: organization keys (`dk-`) and user keys
(`uk-`), both `Authorization: Bearer` (see `core.security`)."""

from __future__ import annotations

from agentyard.core.security import current_caller, security_info
from agentyard.harnesslayer import auth
from agentyard.harnesslayer.auth import OrgCaller
from agentyard.harnesslayer.models import User

org_key_info = security_info(auth.org_caller, sub=lambda caller: caller.key_id)
user_key_info = security_info(auth.user_caller, sub=lambda user: user.id, key="user")


def caller() -> OrgCaller:
    """The organization calling (a `dk-` key)."""
    return current_caller(OrgCaller)


def user() -> User:
    """The user calling (a `uk-` key)."""
    return current_caller(User, key="user")
