"""Connexion security functions for the HASP AI API: `x-api-key` or `Authorization: Bearer`.

Both name the same API key (see `core.security`). After the lookup, the key's rate-limit
headers go on the response through the request context.
"""

from __future__ import annotations

from connexion.lifecycle import ConnexionRequest

from agentyard.core import request_context
from agentyard.core.security import current_caller, security_info
from agentyard.hasp import auth, urls
from agentyard.hasp.auth import Caller


def _per_request(caller: Caller, request: ConnexionRequest) -> None:
    headers = auth.rate_limit(caller)
    info = request_context.current()
    if info is not None:
        info.headers.update(headers)
    urls.remember(request.url.path)  # the paths we hand out carry the mount the client used


api_key_info = security_info(auth.authenticate, sub=lambda c: c.key.id, after=_per_request)
bearer_info = api_key_info


def caller() -> Caller:
    """The authenticated caller of the current request."""
    return current_caller(Caller)


def require(scope: str) -> Caller:
    """The caller, after checking its key has `scope`."""
    who = caller()
    auth.require_scope(who, scope)
    return who
