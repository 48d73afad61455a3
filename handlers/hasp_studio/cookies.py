"""The session and CSRF cookies on a response (Secure when the client came over https)."""

from __future__ import annotations

import json
from typing import Any

from connexion import request
from starlette.responses import Response

from agentyard.core import request_context
from agentyard.hasp.studio import sessions


def client_ip() -> str | None:
    info = request_context.current()
    return info.client_ip if info else None


def base_url() -> str:
    """This surface's root as the client reached it (mount included)."""
    url = request.url
    path = url.path
    return f"{url.scheme}://{url.netloc}{path[: path.find('/api/internal/')]}"


def _mount_path() -> str:
    path = request.url.path
    return path[: path.find("/api/internal/")] or "/"


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status_code=status, media_type="application/json")


def signed_in(body: dict[str, Any], started: sessions.Started) -> Response:
    """`body` with the session cookie (HttpOnly) and the CSRF cookie (readable) set."""
    response = json_response(body)
    secure = request.url.scheme == "https"
    max_age = int((started.session.expires_at - started.session.created_at).total_seconds())
    common: dict[str, Any] = {
        "max_age": max_age,
        "path": _mount_path(),
        "secure": secure,
        "samesite": "lax",
    }
    response.set_cookie(sessions.COOKIE, started.token, httponly=True, **common)
    response.set_cookie(sessions.CSRF_COOKIE, started.csrf_token, httponly=False, **common)
    return response


def signed_out(body: dict[str, Any]) -> Response:
    response = json_response(body)
    secure = request.url.scheme == "https"
    for name in (sessions.COOKIE, sessions.CSRF_COOKIE):
        response.delete_cookie(name, path=_mount_path(), secure=secure, samesite="lax")
    return response
