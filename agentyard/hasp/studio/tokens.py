"""Personal access tokens: `hasp_pat_<40 hex>`, shown once, stored as SHA-256 digests, sent as
`Authorization: Bearer`. A token acts as its member with the member's current roles."""

from __future__ import annotations

import datetime as dt
from typing import Any

from agentyard.core import clock, ids, keys, paging
from agentyard.core.store import write
from agentyard.core.tenancy import found
from agentyard.hasp import cursors
from agentyard.hasp.studio import audit
from agentyard.hasp.studio.errors import conflict, unauthenticated
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.models import StudioToken, StudioUser

PREFIX = "hasp_pat_"
MAX_LIVE = 50
TOUCH_RESOLUTION = dt.timedelta(seconds=60)


def new_secret() -> str:
    """A new token: `hasp_pat_<40 hex>`."""
    return keys.random_secret(PREFIX, 20)


def view(token: StudioToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "last_four": token.last_four,
        "created_at": clock.iso(token.created_at),
        "expires_at": clock.iso(token.expires_at),
        "last_used_at": clock.iso(token.last_used_at),
        "revoked_at": clock.iso(token.revoked_at),
    }


def _live(user_id: str) -> Any:
    now = clock.now()
    return (
        (StudioToken.user == user_id)
        & StudioToken.revoked_at.is_null()
        & (StudioToken.expires_at.is_null() | (StudioToken.expires_at > now))
    )


def create(member: Member, name: str, expires_in_days: int | None) -> tuple[StudioToken, str]:
    """Mint a token for `member`; the row and the secret (shown once)."""
    secret = new_secret()
    now = clock.now()
    with write():
        if StudioToken.select().where(_live(member.user_id)).count() >= MAX_LIVE:
            raise conflict(f"A member has at most {MAX_LIVE} live tokens; revoke one first")
        token = StudioToken.create(
            id=ids.new_id("pat"),
            user=member.user_id,
            name=name,
            digest=keys.digest(secret),
            prefix=secret[:16],
            last_four=secret[-4:],
            created_at=now,
            expires_at=now + dt.timedelta(days=expires_in_days) if expires_in_days else None,
        )
        audit.record(member, "token.created", "token", token.id, after=view(token))
    return token, secret


def list_page(
    member: Member, cursor: str | None, limit: int
) -> tuple[list[StudioToken], str | None, bool]:
    query = StudioToken.select().where(StudioToken.user == member.user_id)
    rows, after, more = paging.newest_first(
        query, StudioToken.created_at, StudioToken.id, cursors.rows_to_core(cursor), limit
    )
    return rows, cursors.rows_from_core(after), more


def revoke(member: Member, token_id: str) -> StudioToken:
    """Revoke the member's token (idempotent); another member's token → 404."""
    with write():
        token = found(
            StudioToken.get_or_none(
                (StudioToken.id == token_id) & (StudioToken.user == member.user_id)
            ),
            "token",
            token_id,
        )
        if token.revoked_at is None:
            token.revoked_at = clock.now()
            token.save()
            audit.record(member, "token.revoked", "token", token.id, before=None, after=view(token))
    return token


def authenticate(secret: str) -> Member:
    """The member a token belongs to; 401 for an unknown, revoked or expired token."""
    if not secret.startswith(PREFIX) or len(secret) > 256:
        raise unauthenticated()
    row = (
        StudioToken.select(StudioToken, StudioUser)
        .join(StudioUser)
        .where(StudioToken.digest == keys.digest(secret))
        .first()
    )
    now = clock.now()
    if (
        row is None
        or row.revoked_at is not None
        or (row.expires_at is not None and row.expires_at <= now)
        or row.user.status != "active"
    ):
        raise unauthenticated("The personal access token is unknown, expired or revoked")
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_RESOLUTION:
        StudioToken.update(last_used_at=now).where(StudioToken.id == row.id).execute()
    return Member(row.user, row.user.tenant, "token", row.id)
