"""Sign-in sessions: login (throttled, no user enumeration), cookie authentication with the
CSRF double-submit check, logout, password change.

A session is a random cookie value whose SHA-256 digest is stored with a CSRF token's digest.
It expires `hasp_studio_session_idle_minutes` after its last use and in any case
`hasp_studio_session_max_hours` after sign-in, and is revoked by logout and (the member's
other sessions) by a password change.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

from agentyard.core import clock, ids, keys, runtime
from agentyard.core.errors import ApiError
from agentyard.core.store import write
from agentyard.hasp.studio import audit, passwords
from agentyard.hasp.studio.errors import unauthenticated
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.models import StudioSession, StudioUser

COOKIE = "hasp_session"
CSRF_COOKIE = "hasp_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
TOUCH_RESOLUTION = dt.timedelta(seconds=30)
_BAD_LOGIN = "Invalid email or password"


@dataclass(frozen=True)
class Started:
    """A new session and the two secrets the client gets (never stored)."""

    session: StudioSession
    user: StudioUser
    token: str
    csrf_token: str

    def idle_expires_at(self) -> dt.datetime:
        return idle_deadline(self.session)


def _idle() -> dt.timedelta:
    return dt.timedelta(minutes=runtime.settings().hasp_studio_session_idle_minutes)


def idle_deadline(session: StudioSession) -> dt.datetime:
    return min(session.last_seen_at + _idle(), session.expires_at)


def throttle(*identity: str) -> None:
    """Count one sign-in attempt against `identity` (an email or an IP); 429 over the limit."""
    settings = runtime.settings()
    kind = identity[0]
    per_minute = (
        settings.hasp_studio_login_per_minute_account
        if kind == "account"
        else settings.hasp_studio_login_per_minute_ip
    )
    runtime.limiter().enforce(
        per_minute, "hasp-studio-login", *identity, code="RATE_LIMITED", retry_details=True
    )


def start(user: StudioUser, ip: str | None) -> Started:
    """Open a session for `user`."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = clock.now()
    max_age = dt.timedelta(hours=runtime.settings().hasp_studio_session_max_hours)
    with write():
        session = StudioSession.create(
            id=ids.new_id("ses"),
            user=user,
            digest=keys.digest(token),
            csrf_digest=keys.digest(csrf),
            created_at=now,
            last_seen_at=now,
            expires_at=now + max_age,
            ip_address=ip,
        )
    return Started(session, user, token, csrf)


def login(email: str, password: str, ip: str | None) -> Started:
    """Check the credentials and open a session. Wrong email, wrong password, pending or
    unknown account: the same 401 INVALID_CREDENTIALS. Throttled per account and per IP."""
    address = email.strip().lower()
    throttle("ip", ip or "unknown")
    throttle("account", address)
    user = StudioUser.get_or_none(StudioUser.email == address)
    ok = passwords.verify(user.password_hash if user else None, password)
    if user is None or not ok or user.status != "active":
        if user is not None:
            audit.record(
                None, "auth.login_failed", "user", user.id, org=user.tenant, user_id=user.id
            )
        raise ApiError(401, "INVALID_CREDENTIALS", _BAD_LOGIN)
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        # the operator changed the cost since this hash was made: same password, current cost
        with write():
            StudioUser.update(password_hash=passwords.hash_password(password)).where(
                StudioUser.id == user.id
            ).execute()
    started = start(user, ip)
    audit.record(
        None, "auth.login", "session", started.session.id, org=user.tenant, user_id=user.id
    )
    return started


def authenticate(token: str, method: str, csrf_header: str | None) -> Member:
    """The member a session cookie belongs to; 401 when unknown, revoked or expired. A
    mutating request also needs `X-CSRF-Token` equal to the session's CSRF token (403)."""
    if not token or len(token) > 256:
        raise unauthenticated()
    row = (
        StudioSession.select(StudioSession, StudioUser)
        .join(StudioUser)
        .where(StudioSession.digest == keys.digest(token))
        .first()
    )
    now = clock.now()
    if row is None or row.revoked_at is not None or now >= idle_deadline(row):
        raise unauthenticated("The session is unknown, expired or signed out")
    user = row.user
    if user.status != "active":
        raise unauthenticated()
    if method.upper() not in SAFE_METHODS:
        sent = csrf_header or ""
        if not sent or not hmac.compare_digest(keys.digest(sent), row.csrf_digest):
            raise ApiError(
                403,
                "CSRF_FAILED",
                f"A cookie-authenticated {method.upper()} needs the {CSRF_HEADER} header "
                f"holding the CSRF token of the session",
            )
    if now - row.last_seen_at >= TOUCH_RESOLUTION:
        StudioSession.update(last_seen_at=now).where(StudioSession.id == row.id).execute()
        row.last_seen_at = now
    return Member(user, user.tenant, "session", row.id)


def session_of(member: Member) -> StudioSession | None:
    if member.auth != "session":
        return None
    return StudioSession.get_or_none(StudioSession.id == member.auth_id)


def logout(member: Member) -> None:
    """Revoke the member's current session (a token-authenticated call revokes nothing)."""
    if member.auth != "session":
        return
    with write():
        StudioSession.update(revoked_at=clock.now()).where(
            (StudioSession.id == member.auth_id) & StudioSession.revoked_at.is_null()
        ).execute()
        audit.record(member, "auth.logout", "session", member.auth_id)


def change_password(member: Member, current: str, new: str, ip: str | None) -> int:
    """Set a new password after checking the current one (throttled like sign-in); revokes
    every other session of the member. How many sessions were revoked."""
    throttle("account", str(member.user.email))
    user = StudioUser.get_by_id(member.user_id)
    if not passwords.verify(user.password_hash, current):
        audit.record(member, "auth.password_change_failed", "user", user.id)
        raise ApiError(401, "INVALID_CREDENTIALS", "The current password is wrong")
    passwords.check(new)
    if passwords.verify(user.password_hash, new):
        raise ApiError(422, "VALIDATION_FAILED", "The new password equals the current one")
    now = clock.now()
    with write():
        StudioUser.update(
            password_hash=passwords.hash_password(new), password_changed_at=now
        ).where(StudioUser.id == user.id).execute()
        others = StudioSession.update(revoked_at=now).where(
            (StudioSession.user == user.id)
            & StudioSession.revoked_at.is_null()
            & (StudioSession.id != (member.auth_id if member.auth == "session" else ""))
        )
        revoked = int(others.execute())
        audit.record(member, "auth.password_changed", "user", user.id, sessions_revoked=revoked)
    return revoked
