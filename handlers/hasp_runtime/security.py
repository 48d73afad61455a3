"""Connexion security for the org runtime: `Authorization: Bearer <org API key>` (the HASP AI
keys), counted against the key's rate limit."""

from __future__ import annotations

from connexion.lifecycle import ConnexionRequest

from agentyard.core import request_context
from agentyard.core.security import current_caller, security_info
from agentyard.hasp import auth
from agentyard.hasp.auth import Caller


def _per_request(caller: Caller, request: ConnexionRequest) -> None:
    info = request_context.current()
    headers = auth.rate_limit(caller)
    if info is not None:
        info.headers.update(headers)


bearer_info = security_info(auth.authenticate, sub=lambda c: c.key.id, after=_per_request)


def caller() -> Caller:
    """The authenticated caller of the current request."""
    return current_caller(Caller)
