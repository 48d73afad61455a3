"""Connexion security functions for the HASP AI API: `x-api-key` or `Authorization: Bearer`.

Both name the same API key. The lookup runs in the threadpool; the key's rate-limit headers go
on the response through the request context.
"""

from __future__ import annotations

from typing import Any

from connexion.context import context
from starlette.concurrency import run_in_threadpool

from agentyard.core import request_context
from agentyard.core.store import with_connection
from agentyard.hasp import auth, urls
from agentyard.hasp.auth import Caller


@with_connection
def _check(secret: str) -> tuple[Caller, dict[str, str]]:
    caller = auth.authenticate(secret)
    return caller, auth.rate_limit(caller)


async def _authenticate(secret: str, request: Any) -> dict[str, Any]:
    caller, headers = await run_in_threadpool(_check, secret)
    info = request_context.current()
    if info is not None:
        info.headers.update(headers)
    urls.remember(request.url.path)  # the paths we hand out carry the mount the client used
    return {"sub": caller.key.id, "caller": caller}


async def api_key_info(apikey: str, request: Any, required_scopes: Any = None) -> dict[str, Any]:
    """`x-api-key: <key>`."""
    return await _authenticate(apikey, request)


async def bearer_info(token: str, request: Any) -> dict[str, Any]:
    """`Authorization: Bearer <key>`."""
    return await _authenticate(token, request)


def caller() -> Caller:
    """The authenticated caller of the current request."""
    return context["token_info"]["caller"]


def require(scope: str) -> Caller:
    """The caller, after checking its key has `scope`."""
    who = caller()
    auth.require_scope(who, scope)
    return who
