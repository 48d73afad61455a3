"""Sendblue's inbound webhook of an `imessage` channel: verify, dedupe, start a run.

Sendblue retries anything but a 2xx, so whatever cannot start a run (an outbound echo, a
duplicate, a busy session) is acknowledged with `accepted: false` rather than refused; past
the sender's access-group limit, the group's message is texted back.
"""

from __future__ import annotations

import logging
from typing import Any

import peewee

from agentyard.core import clock
from agentyard.core.errors import ApiError, not_found
from agentyard.core.store import db, write
from agentyard.harnesslayer import channels, runs
from agentyard.harnesslayer.run_models import SendblueMessage
from agentyard.messaging import InvalidWebhook, parse_inbound, verify_signing_secret

log = logging.getLogger("agentyard.harnesslayer.inbound")


def _result(accepted: bool, duplicate: bool = False, instance_id: str | None = None) -> dict:
    return {"accepted": accepted, "duplicate": duplicate, "instanceId": instance_id}


def receive(channel_id: str, signing_secret: str | None, body: dict[str, Any]) -> dict[str, Any]:
    """Handle one inbound webhook; 404 unknown channel, 401 wrong secret, 400 bad payload."""
    channel = channels.inbound_channel(channel_id)
    if channel is None:
        raise not_found("iMessage channel", channel_id)
    if not verify_signing_secret(channel.sendblue_webhook_secret, signing_secret):
        raise ApiError(401, "unauthorized", "Missing or wrong sb-signing-secret")
    try:
        message = parse_inbound(body)
    except InvalidWebhook as exc:
        raise ApiError(400, "bad_request", str(exc)) from exc
    if not message.actionable or not message.content.strip():
        return _result(False)
    try:
        with write(), db.atomic():
            SendblueMessage.create(
                channel=channel.id, message_handle=message.message_handle, created_at=clock.now()
            )
    except peewee.IntegrityError:
        return _result(False, duplicate=True)
    try:
        started = runs.start(
            channel.app, channel, message.from_number, message.content, None, sender_session=True
        )
    except ApiError as exc:
        if exc.status == 403 and exc.code == "limit_reached":
            runs.send_text(channel.id, message.from_number, exc.message)
            return _result(True)
        log.info("sendblue message on channel %s not run: %s", channel.id, exc.message)
        return _result(False)
    return _result(True, instance_id=started["instanceId"])
