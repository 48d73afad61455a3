"""Connexion security functions for Harnesslayer: organization keys (`dk-`) and user keys
(`uk-`), both `Authorization: Bearer`. Lookups run in the threadpool."""

from __future__ import annotations

from typing import Any

from connexion.context import context
from starlette.concurrency import run_in_threadpool

from agentyard.core.store import with_connection
from agentyard.harnesslayer import auth
from agentyard.harnesslayer.auth import OrgCaller
from agentyard.harnesslayer.models import User


async def org_key_info(token: str) -> dict[str, Any]:
    caller = await run_in_threadpool(with_connection(auth.org_caller), token)
    return {"sub": caller.key_id, "caller": caller}


async def user_key_info(token: str) -> dict[str, Any]:
    user = await run_in_threadpool(with_connection(auth.user_caller), token)
    return {"sub": user.id, "user": user}


def caller() -> OrgCaller:
    """The organization calling (a `dk-` key)."""
    return context["token_info"]["caller"]


def user() -> User:
    """The user calling (a `uk-` key)."""
    return context["token_info"]["user"]
