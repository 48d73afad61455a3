"""/api/internal/auth: sign in and out, the signed-in member, password change, invitations."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from agentyard.core import clock
from agentyard.hasp import envelope
from agentyard.hasp.studio import invites, members_view, sessions
from generated.hasp_studio.models import AcceptInvite, LoginRequest, PasswordChange
from handlers.hasp_studio.cookies import client_ip, signed_in, signed_out
from handlers.hasp_studio.security import current_member


def _session_body(started: sessions.Started) -> dict[str, Any]:
    return envelope.ok(
        {
            **members_view.identity(started.user),
            "csrf_token": started.csrf_token,
            "expires_at": clock.iso(started.session.expires_at),
            "idle_expires_at": clock.iso(started.idle_expires_at()),
        }
    )


def login(body: dict[str, Any]) -> Response:
    req = LoginRequest.model_validate(body)
    started = sessions.login(req.email, req.password, client_ip())
    return signed_in(_session_body(started), started)


def accept_invite(body: dict[str, Any]) -> Response:
    req = AcceptInvite.model_validate(body)
    started = invites.accept(req.token, req.password, client_ip())
    return signed_in(_session_body(started), started)


def logout() -> Response:
    sessions.logout(current_member())
    return signed_out(envelope.ok({"signed_out": True}))


def me() -> dict[str, Any]:
    return envelope.ok(members_view.me(current_member()))


def change_password(body: dict[str, Any]) -> dict[str, Any]:
    req = PasswordChange.model_validate(body)
    member = current_member()
    sessions.change_password(member, req.current_password, req.new_password, client_ip())
    return envelope.ok(members_view.me(member))
