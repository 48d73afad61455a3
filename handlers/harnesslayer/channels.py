"""/v1/channel: create, list, get, update (name only), delete."""

from __future__ import annotations

from typing import Any

from agentyard.harnesslayer import channels
from generated.harnesslayer.models import ChannelCreate, ChannelUpdate
from handlers.harnesslayer.blobs import surface_base
from handlers.harnesslayer.security import caller


def createChannel(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = ChannelCreate.model_validate(body).model_dump(mode="json", exclude_unset=True)
    channel, created, secret = channels.create(caller(), req)
    return {"data": channels.view(channel, surface_base(), secret=secret)}, 201 if created else 200


def listChannels(app_id: str, page: int = 1, page_size: int = 10) -> dict[str, Any]:
    return {"data": channels.list_page(caller(), app_id, page, page_size, surface_base())}


def getChannel(channel_id: str) -> dict[str, Any]:
    return {"data": channels.view(channels.find(caller(), channel_id), surface_base())}


def deleteChannel(channel_id: str) -> dict[str, Any]:
    channel = channels.delete(caller(), channel_id)
    return {"data": {"id": channel.id, "deleted": True}}


def updateChannel(channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
    changes = ChannelUpdate.model_validate(body).model_dump(mode="json", exclude_unset=True)
    channel = channels.update(caller(), channel_id, changes)
    return {"data": channels.view(channel, surface_base())}
