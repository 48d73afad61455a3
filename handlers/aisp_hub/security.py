"""Connexion security functions for the AISP Hub (called on the event loop; the lookups run
in the threadpool with their own short-lived connection)."""

from __future__ import annotations

from typing import Any

from connexion.context import context
from connexion.lifecycle import ConnexionRequest
from starlette.concurrency import run_in_threadpool

from agentyard.aisp import auth
from agentyard.aisp.auth import Caller
from agentyard.core.store import with_connection


def _info(caller: Caller) -> dict[str, Any]:
    return {"sub": caller.session_id or caller.key_id, "caller": caller}


async def api_key_info(apikey: str, required_scopes: Any, request: ConnexionRequest) -> dict:
    """`X-AISP-Key` (+ optional `X-AISP-Session`)."""
    acting = request.headers.get("x-aisp-session")
    caller = await run_in_threadpool(
        with_connection(auth.from_api_key), apikey, acting, request.method
    )
    return _info(caller)


async def bearer_info(token: str, request: ConnexionRequest) -> dict:
    """`Authorization: Bearer <EdDSA JWT>`."""
    caller = await run_in_threadpool(with_connection(auth.from_jwt), token, request.method)
    return _info(caller)


def caller() -> Caller:
    """The authenticated caller of the current request."""
    return context["token_info"]["caller"]
