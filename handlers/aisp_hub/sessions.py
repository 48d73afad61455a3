"""/api/v1/sessions: register, list, get, deregister, ping."""

from __future__ import annotations

import secrets
from typing import Any

from agentyard.aisp import sessions, stream
from agentyard.aisp.views import session_view
from generated.aisp_hub.models import PingRequest, SessionRegistration
from handlers.aisp_hub.security import caller


def registerSession(body: dict[str, Any]) -> dict[str, Any]:
    req = SessionRegistration.model_validate(body)
    session = sessions.register(
        caller(), req.name, req.kind, req.realm, list(req.capabilities or []), req.public_key
    )
    return session_view(session)


def listSessions(
    kind: str | None = None,
    status: str | None = None,
    realm: str | None = None,
    limit: int = 100,
    after: str | None = None,
) -> dict[str, Any]:
    rows, total = sessions.list_sessions(caller(), kind, status, realm, limit, after)
    return {"sessions": [session_view(s) for s in rows], "total": total}


def getSession(id_: str) -> dict[str, Any]:
    return session_view(sessions.find(caller(), id_))


def deregisterSession(id_: str) -> dict[str, Any]:
    sessions.deregister(caller(), id_)
    return {"message": "Session deregistered."}


async def pingSession(id_: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Deliver a ping and wait (without holding a thread) for the target's pong."""
    who = caller()
    req = PingRequest.model_validate(body or {})
    return await stream.ping(who, id_, req.nonce or secrets.token_hex(8))
