"""Messages: route envelopes into inboxes, poll them, feed streams, answer pings.

A message is stored once (`Message`) and reaches each recipient as a `Delivery` numbered by
the recipient's own inbox sequence (taken under the recipient's row lock, so sequence numbers
commit in order). After the transaction commits, each recipient's pub/sub channel gets the
message; a live stream listening there is what makes it `delivered`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from agentyard.aisp import SURFACE
from agentyard.aisp.access import holds
from agentyard.aisp.auth import Caller
from agentyard.aisp.auth import sender as sender_session
from agentyard.aisp.models import Delivery, Message, Session
from agentyard.aisp.sessions import check_realm, find, inbox_channel
from agentyard.aisp.views import message_view
from agentyard.core import clock, ids, runtime
from agentyard.core.errors import ApiError, not_found
from agentyard.core.keys import Tenant
from agentyard.core.store import Prepared, is_sqlite, write

PROTOCOL_VERSIONS = frozenset({"0.1"})
CLIENT_CATEGORIES = frozenset(
    {"inform", "request", "response", "delegate", "result", "event", "ping", "pong"}
)
CATEGORY_CAPABILITY = {"delegate": "delegate.receive"}


@dataclass
class Stored:
    """A stored message and its (recipient, seq) deliveries, ready to publish."""

    message: Message
    realm_name: str
    deliveries: list[tuple[str, int]]


def pong_channel(ping_id: str) -> str:
    return f"{SURFACE}:pong:{ping_id}"


# The statements of every send and stream delivery: their SQL is compiled once.
_BUMP_SEQ: Prepared[Session] = Prepared(
    lambda session_id: Session.update(inbox_seq=Session.inbox_seq + 1).where(
        Session.id == session_id
    )
)
_SEQ: Prepared[Session] = Prepared(
    lambda session_id: Session.select(Session.inbox_seq).where(Session.id == session_id)
)
_MESSAGE_FIELDS = (
    Message.id,
    Message.realm,
    Message.sender,
    Message.category,
    Message.payload,
    Message.reply_to,
    Message.sent_at,
)
_INSERT_MESSAGE: Prepared[Message] = Prepared(
    lambda *values: Message.insert(dict(zip(_MESSAGE_FIELDS, values, strict=True))),
    arity=7,
)
_INSERT_DELIVERY: Prepared[Delivery] = Prepared(
    lambda message_id, recipient, seq: Delivery.insert(
        message=message_id, recipient=recipient, seq=seq
    )
)
_CLAIM: Prepared[Delivery] = Prepared(
    lambda now, session_id, seq: Delivery.update(read_at=now).where(
        (Delivery.recipient == session_id) & Delivery.read_at.is_null() & (Delivery.seq == seq)
    )
)
_ONE_RECIPIENT: Prepared[Session] = Prepared(
    lambda session_id, realm_id: Session.select().where(
        (Session.id == session_id) & (Session.realm == realm_id) & (Session.status == "active")
    )
)


def _next_seq(session_id: str) -> int:
    _BUMP_SEQ.execute(session_id)
    return int(_SEQ(session_id)[0].inbox_seq)


def store(
    realm: Tenant,
    sender: str,
    recipients: list[str],
    category: str,
    payload: dict[str, Any],
    reply_to: str | None = None,
    message_id: str | None = None,
) -> Stored:
    """Store a message for each recipient; call inside a write transaction."""
    message = Message(
        id=message_id or ids.new_id("msg"),
        realm=realm,
        sender=sender,
        category=category,
        payload=json.dumps(payload, separators=(",", ":")),
        reply_to=reply_to,
        sent_at=clock.now(),
    )
    _INSERT_MESSAGE.execute(*(message.__data__[f.name] for f in _MESSAGE_FIELDS))
    deliveries = []
    for recipient in sorted(recipients):  # one lock order, no deadlocks between senders
        seq = _next_seq(recipient)
        _INSERT_DELIVERY.execute(message.id, recipient, seq)
        deliveries.append((recipient, seq))
    return Stored(message, realm.name, deliveries)


def notify(stored: Stored) -> dict[str, bool]:
    """Publish to each recipient's streams (after commit); {recipient: a stream got it}."""
    broker = runtime.broker()
    delivered = {}
    for recipient, seq in stored.deliveries:
        event = {
            "type": "message",
            "seq": seq,
            "message": message_view(stored.message, recipient, stored.realm_name),
        }
        delivered[recipient] = broker.publish(inbox_channel(recipient), event) > 0
    return delivered


def _recipients(caller: Caller, to: list[str]) -> list[Session]:
    rows: Iterable[Session]
    if len(to) == 1:
        rows = _ONE_RECIPIENT(to[0], caller.realm.id)
    else:
        rows = Session.select().where(
            (Session.id << to) & (Session.realm == caller.realm.id) & (Session.status == "active")
        )
    found = {s.id: s for s in rows}
    for session_id in to:
        if session_id not in found:
            raise not_found(
                "recipient session",
                session_id,
                code="recipient_not_found",
                message=f"Recipient session not found: {session_id}",
            )
    return [found[s] for s in to]


def _answer_ping(me: Session, reply_to: str | None, payload: dict[str, Any]) -> None:
    """A pong answering a ping that was sent to the caller wakes the waiting ping."""
    if not reply_to:
        return
    ping = Message.get_or_none((Message.id == reply_to) & (Message.category == "ping"))
    if ping is None:
        return
    addressed = Delivery.select().where(
        (Delivery.message == ping.id) & (Delivery.recipient == me.id)
    )
    if addressed.exists() and ping.payload_dict.get("nonce") == payload.get("nonce"):
        runtime.broker().publish(pong_channel(ping.id), {"nonce": payload.get("nonce")})


def send(
    caller: Caller,
    aisp: str,
    sender: str,
    to: list[str],
    realm: str,
    category: str,
    payload: dict[str, Any],
    reply_to: str | None,
) -> tuple[str, dict[str, bool]]:
    """Validate and route an envelope; returns (message id, {recipient: delivered})."""
    if aisp not in PROTOCOL_VERSIONS:
        raise ApiError(400, "invalid_envelope", f"Unsupported AISP version: {aisp}")
    me = sender_session(caller, sender)
    check_realm(caller, realm)
    if category not in CLIENT_CATEGORIES:
        raise ApiError(400, "invalid_envelope", f"Category {category} is sent by the hub only")
    if len(set(to)) != len(to):
        raise ApiError(400, "invalid_envelope", "Envelope 'to' lists a session twice")
    with write():
        recipients = _recipients(caller, to)
        capability = CATEGORY_CAPABILITY.get(category)
        for recipient in recipients:
            if capability and not holds(me.id, recipient.id, capability):
                raise ApiError(
                    403,
                    "no_grant",
                    f"No grant for target capability: {category} messages need an active "
                    f"{capability} grant from {recipient.id}",
                    details={"capability": capability, "session": recipient.id},
                )
        stored = store(caller.realm, me.id, to, category, payload, reply_to)
    delivered = notify(stored)
    if category == "pong":
        _answer_ping(me, reply_to, payload)
    return stored.message.id, delivered


def _unread(session_id: str) -> Any:
    return (Delivery.recipient == session_id) & Delivery.read_at.is_null()


def poll(
    caller: Caller, category: str | None, since: dt.datetime | None, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """Take up to `limit` unread messages (marking them read atomically) and count the rest."""
    me = caller.require_session()
    with write():
        query = (
            Delivery.select(Delivery, Message)
            .join(Message)
            .where(_unread(me.id))
            .order_by(Delivery.seq)
            .limit(limit)
        )
        if category:
            query = query.where(Message.category == category)
        if since:
            query = query.where(Message.sent_at > since)
        if not is_sqlite():
            query = query.for_update(of=Delivery)
        rows = list(query)
        if rows:
            Delivery.update(read_at=clock.now()).where(
                Delivery.id << [r.id for r in rows]
            ).execute()
        remaining = Delivery.select().where(_unread(me.id)).count()
    return [message_view(r.message, me.id, caller.realm.name) for r in rows], remaining


def stream_backlog(caller: Caller, after: int | None) -> tuple[list[dict], int]:
    """`backlog` of the session the caller acts as (its activity recorded)."""
    me = caller.require_session()
    return backlog(me.id, caller.realm.name, after)


def backlog(session_id: str, realm_name: str, after: int | None) -> tuple[list[dict], int]:
    """What a new stream sends first, and the inbox sequence it starts from.

    Without `after`: the unread messages, now marked read. With `after`: every message in the
    inbox after that sequence number, read or not (resumption).
    """
    with write():
        current = Session.select(Session.inbox_seq).where(Session.id == session_id).scalar()
        query = Delivery.select(Delivery, Message).join(Message).order_by(Delivery.seq)
        if after is None:
            query = query.where(_unread(session_id))
        else:
            query = query.where((Delivery.recipient == session_id) & (Delivery.seq > after))
        rows = list(query)
        unread = [r.id for r in rows if r.read_at is None]
        if unread:
            Delivery.update(read_at=clock.now()).where(Delivery.id << unread).execute()
    events = [
        {"seq": r.seq, "message": message_view(r.message, session_id, realm_name)} for r in rows
    ]
    return events, max([current or 0] + [e["seq"] for e in events])


def missed(session_id: str, realm_name: str, after: int, upto: int) -> list[dict]:
    """Unread messages with after < seq < upto (a stream saw a gap), claimed for the stream."""
    with write():
        rows = list(
            Delivery.select(Delivery, Message)
            .join(Message)
            .where(_unread(session_id) & (Delivery.seq > after) & (Delivery.seq < upto))
            .order_by(Delivery.seq)
        )
        if rows:
            Delivery.update(read_at=clock.now()).where(
                Delivery.id << [r.id for r in rows]
            ).execute()
    return [
        {"seq": r.seq, "message": message_view(r.message, session_id, realm_name)} for r in rows
    ]


def claim(session_id: str, seq: int) -> bool:
    """Mark one delivery read for a stream; False when a poll took it first."""
    with write():
        return _CLAIM.execute(clock.now(), session_id, seq) > 0


def send_ping(caller: Caller, target_id: str, nonce: str, ping_id: str) -> dict[str, bool]:
    """Deliver the hub's ping (message id chosen by the waiter) to the target."""
    me = caller.require_session()
    with write():
        target = find(caller, target_id, active_only=True)
        stored = store(caller.realm, me.id, [target.id], "ping", {"nonce": nonce}, None, ping_id)
    return notify(stored)
