"""Sendblue's inbound webhook of an `imessage` channel (no API key: its signing secret)."""

from __future__ import annotations

from typing import Any

from connexion import request

from agentyard.harnesslayer import inbound
from agentyard.harnesslayer.auth import rate_limit
from agentyard.messaging import SIGNING_SECRET_HEADER


def receiveSendblueMessage(channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
    rate_limit("channel", channel_id)
    secret = request.headers.get(SIGNING_SECRET_HEADER)
    return {"data": inbound.receive(channel_id, secret, body)}
