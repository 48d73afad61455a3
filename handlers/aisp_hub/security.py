"""Connexion security functions for the AISP Hub: `X-AISP-Key` (+ optional `X-AISP-Session`)
and a session's `Authorization: Bearer <EdDSA JWT>` (see `core.security`)."""

from __future__ import annotations

from agentyard.aisp import auth
from agentyard.aisp.auth import Caller
from agentyard.core.security import current_caller, security_info


def _sub(caller: Caller) -> str | None:
    """The credential's subject: the session it names, else the key (a key alone's implied
    session is read only by the operations that act as it)."""
    return caller.session.id if caller.session is not None else caller.key_id


api_key_info = security_info(
    auth.from_api_key,
    sub=_sub,
    facts=lambda request: (request.headers.get("x-aisp-session"), request.method),
)
bearer_info = security_info(auth.from_jwt, sub=_sub, facts=lambda request: (request.method,))


def caller() -> Caller:
    """The authenticated caller of the current request."""
    return current_caller(Caller)
