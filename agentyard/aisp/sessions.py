"""Sessions: register, list, inspect and deregister within a realm."""

from __future__ import annotations

import json

import peewee

from agentyard.aisp import SURFACE
from agentyard.aisp.auth import Caller, owner_key, parse_public_key
from agentyard.aisp.models import Delivery, Grant, MemoryEntry, Namespace, Session
from agentyard.core import clock, ids, paging, runtime
from agentyard.core.errors import ApiError
from agentyard.core.keys import Tenant
from agentyard.core.store import Prepared, write
from agentyard.core.tenancy import found


def inbox_channel(session_id: str) -> str:
    """The pub/sub channel a session's streams listen on."""
    return f"{SURFACE}:inbox:{session_id}"


def check_realm(caller: Caller, realm_name: str | None) -> None:
    """403 when a request names a realm other than the caller's."""
    if realm_name is not None and realm_name != caller.realm.name:
        raise ApiError(403, "realm_access_denied", "Realm access denied")


def find(caller: Caller, session_id: str, active_only: bool = False) -> Session:
    """A session of the caller's realm, else 404."""
    query = (
        Session.select(Session, Tenant)
        .join(Tenant)
        .where((Session.id == session_id) & (Session.realm == caller.realm.id))
    )
    if active_only:
        query = query.where(Session.status == "active")
    message = f"Session not found: {session_id}"
    return found(query.first(), "session", session_id, code="session_not_found", message=message)


def register(
    caller: Caller,
    name: str,
    kind: str,
    realm: str,
    capabilities: list[str],
    public_key: str | None,
) -> Session:
    check_realm(caller, realm)
    if public_key is not None:
        try:
            parse_public_key(public_key)
        except ValueError as exc:
            raise ApiError(400, "invalid_public_key", str(exc)) from None
    if len(set(capabilities)) != len(capabilities):
        raise ApiError(400, "invalid_request", "capabilities must not repeat")
    try:
        with write():
            session = Session.create(
                id=ids.new_id("sess"),
                realm=caller.realm,
                name=name,
                kind=kind,
                capabilities=json.dumps(capabilities),
                public_key=public_key,
                registered_by=owner_key(caller),
                created_at=clock.now(),
            )
    except peewee.IntegrityError:
        raise ApiError(
            409, "session_name_taken", f"Session name already taken in realm: {name}"
        ) from None
    session.realm = caller.realm
    return session


def list_sessions(
    caller: Caller,
    kind: str | None,
    status: str | None,
    realm: str | None,
    limit: int,
    after: str | None,
) -> tuple[list[Session], int]:
    """A page of the realm's sessions in id (creation) order, and the total matching."""
    check_realm(caller, realm)

    def matching() -> peewee.ModelSelect[Session]:
        query = Session.select().where(
            (Session.realm == caller.realm.id) & (Session.status == (status or "active"))
        )
        return query.where(Session.kind == kind) if kind else query

    values = [caller.realm.id, status or "active", limit] + [kind] * bool(kind)
    rows = _PAGES[bool(kind), bool(after)](*values, *([after] if after else []))
    for row in rows:  # every row is in the caller's realm: no join, no realm row per session
        row.realm = caller.realm
    return rows, paging.total_of(matching, rows, limit, None if after else 0)


def _page_query(with_kind: bool, with_after: bool) -> Prepared[Session]:
    """The page query of `list_sessions` for one combination of filters, compiled once."""

    def build(realm_id: str, status: str, limit: int, *more: str) -> peewee.ModelSelect[Session]:
        query = Session.select().where((Session.realm == realm_id) & (Session.status == status))
        if with_kind:
            query = query.where(Session.kind == more[0])
        if with_after:
            query = query.where(Session.id > more[-1])
        return query.order_by(Session.id).limit(limit)

    return Prepared(build, arity=3 + with_kind + with_after)


_PAGES = {(k, a): _page_query(k, a) for k in (False, True) for a in (False, True)}


def deregister(caller: Caller, session_id: str) -> None:
    """Deregister: discard its inbox, deactivate its grants, delete its memory namespaces
    (their keys included; the names are free for the next writer), close its streams."""
    target = find(caller, session_id, active_only=True)
    own = caller.session_id == target.id
    registered_it = caller.session is None and caller.key_id == target.registered_by
    if not (own or registered_it):
        raise ApiError(403, "forbidden", "Cannot deregister another session")
    now = clock.now()
    with write():
        Session.update(status="deregistered", deregistered_at=now).where(
            Session.id == target.id
        ).execute()
        Delivery.delete().where(
            (Delivery.recipient == target.id) & Delivery.read_at.is_null()
        ).execute()
        Grant.update(status="revoked", decided_at=now).where(
            ((Grant.requester == target.id) | (Grant.grantor == target.id))
            & (Grant.status << ["pending", "active"])
        ).execute()
        MemoryEntry.delete().where(
            (MemoryEntry.realm == caller.realm.id) & (MemoryEntry.owner == target.id)
        ).execute()
        Namespace.delete().where(
            (Namespace.realm == caller.realm.id) & (Namespace.owner == target.id)
        ).execute()
    runtime.broker().publish(inbox_channel(target.id), {"type": "closed"})
