"""Invitations: a pending user with a one-time, expiring set-password token (stored hashed),
delivered through `send_invite` by the shared core outbox (`core.outbox`: SMTP when
AGENTYARD_SMTP_URL is set, else the dev outbox that `agentyard outbox list` prints)."""

from __future__ import annotations

import datetime as dt
import secrets

from agentyard.core import clock, ids, keys, outbox, runtime
from agentyard.core.errors import ApiError
from agentyard.core.keys import Tenant
from agentyard.core.store import write
from agentyard.hasp.studio import SURFACE, passwords, sessions, users
from agentyard.hasp.studio.models import Invite, StudioUser

ACCEPT_PATH = "/api/internal/auth/accept-invite"


def send_invite(email: str, link: str, label: str = SURFACE) -> None:
    """Queue the invitation email with its link (a worker sends it, retried on failure)."""
    hours = runtime.settings().hasp_studio_invite_hours
    outbox.send_later(
        outbox.Message(
            to=email,
            subject="You are invited to HASP Studio",
            text=(
                f"You have been invited to a HASP Studio project. Set your password to join:\n"
                f"{link}\n\nThe link works once and expires in {hours} hours. The token after "
                f'#token= goes to POST {ACCEPT_PATH} as {{"token", "password"}}.\n'
            ),
            label=label,
        )
    )


def issue(user: StudioUser) -> tuple[Invite, str]:
    """A new one-time token for pending `user` (earlier unused ones stay valid until used)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    hours = runtime.settings().hasp_studio_invite_hours
    with write():
        invite = Invite.create(
            id=ids.new_id("inv"),
            user=user,
            digest=keys.digest(token),
            created_at=now,
            expires_at=now + dt.timedelta(hours=hours),
        )
    return invite, token


def invite(org: Tenant, email: str, name: str, base_url: str) -> tuple[StudioUser, Invite]:
    """Create a pending user (org role viewer) and send them their link."""
    user = users.create(org, email, "viewer", name=name, status="pending")
    row, token = issue(user)
    send_invite(str(user.email), f"{base_url}{ACCEPT_PATH}#token={token}", f"{SURFACE}:{org.id}")
    return user, row


def pending_expiry(user_id: str) -> dt.datetime | None:
    """When the newest unused invitation of a pending user expires."""
    row = (
        Invite.select()
        .where((Invite.user == user_id) & Invite.used_at.is_null())
        .order_by(Invite.expires_at.desc())
        .first()
    )
    return row.expires_at if row else None


def accept(token: str, password: str, ip: str | None) -> sessions.Started:
    """Set the password of the token's pending user, activate them and sign them in."""
    sessions.throttle("ip", ip or "unknown")
    passwords.check(password)
    now = clock.now()
    with write():
        row = (
            Invite.select(Invite, StudioUser)
            .join(StudioUser)
            .where(Invite.digest == keys.digest(token))
            .first()
        )
        if row is None or row.used_at is not None or row.expires_at <= now:
            raise ApiError(401, "INVALID_INVITE", "The invitation is unknown, used or expired")
        user = row.user
        Invite.update(used_at=now).where(Invite.user == user.id).execute()
        user.password_hash = passwords.hash_password(password)
        user.password_changed_at = now
        user.status = "active"
        user.save()
    return sessions.start(user, ip)
