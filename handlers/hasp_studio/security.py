"""HASP Studio credentials: the session cookie (with the CSRF check on mutating requests) or a
personal access token as `Authorization: Bearer`; `current_member()` in handlers."""

from __future__ import annotations

from connexion.lifecycle import ConnexionRequest

from agentyard.core.security import current_caller, security_info
from agentyard.hasp.studio import sessions, tokens
from agentyard.hasp.studio.member import Member


def _facts(request: ConnexionRequest) -> tuple[str, str | None]:
    return request.method, request.headers.get(sessions.CSRF_HEADER)


session_info = security_info(sessions.authenticate, sub=lambda m: m.user_id, facts=_facts)
bearer_info = security_info(tokens.authenticate, sub=lambda m: m.user_id)


def current_member() -> Member:
    """The signed-in member of the running request."""
    return current_caller(Member)
