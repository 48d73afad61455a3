"""/api/v1/sessions: register, list, get, deregister, ping."""

from __future__ import annotations

import secrets
import time
from typing import Any

from starlette.concurrency import run_in_threadpool

from agentyard.aisp import messages, sessions
from agentyard.aisp.views import session_view
from agentyard.core import ids, runtime
from agentyard.core.errors import ApiError
from agentyard.core.store import with_connection
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
    nonce = req.nonce or secrets.token_hex(8)
    ping_id = ids.new_id("msg")
    timeout = runtime.settings().aisp_ping_timeout_seconds
    async with runtime.broker().subscribe(messages.pong_channel(ping_id)) as pongs:
        started = time.monotonic()
        await run_in_threadpool(with_connection(messages.send_ping), who, id_, nonce, ping_id)
        deadline = started + timeout
        while (left := deadline - time.monotonic()) > 0:
            pong = await pongs.get(timeout=left)
            if pong is not None and pong.get("nonce") == nonce:
                latency = int((time.monotonic() - started) * 1000)
                return {"status": "alive", "latency_ms": latency, "nonce": nonce}
    raise ApiError(
        408, "ping_timeout", f"Ping timed out after {timeout:g} s — session may be inactive"
    )
