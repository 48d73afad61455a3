"""Channels: an app's entry points. `api` channels may POST each finished response to a
webhook; `imessage` channels talk through Sendblue with keys stored encrypted (never returned).

The Sendblue webhook secret is generated when the client gives none and shown once, in the
create answer. API channel webhook deliveries are core's (`agentyard.core.webhooks`, product
`harnesslayer_channel`): unsigned, with the channel's configured headers read at each attempt,
dropped once the channel is gone.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any, cast

import peewee

from agentyard.config import Settings
from agentyard.core import clock, ids
from agentyard.core import webhooks as deliveries
from agentyard.core.errors import ApiError
from agentyard.core.store import db, write
from agentyard.core.tenancy import found
from agentyard.harnesslayer import apps, pages, webhooks
from agentyard.harnesslayer.auth import OrgCaller
from agentyard.harnesslayer.models import App, Organization
from agentyard.harnesslayer.orgs import check_slug
from agentyard.harnesslayer.run_models import Channel, SendblueMessage
from agentyard.messaging import DEFAULT_BASE_URL, Messenger, messenger_for

log = logging.getLogger("agentyard.harnesslayer.channels")

PRODUCT = "harnesslayer_channel"
INBOUND_PATH = "/v1/channel/{}/sendblue/inbound"

# Where Sendblue's API is (tests point it at a local fake): env, else Sendblue's own.
_sendblue_base_url: str | None = None


def use_sendblue_base_url(url: str | None) -> None:
    """Point every channel's Sendblue client at `url` (None: back to the default)."""
    global _sendblue_base_url
    _sendblue_base_url = url


def sendblue_base_url() -> str:
    return _sendblue_base_url or Settings.from_env().sendblue_base_url or DEFAULT_BASE_URL


def view(ch: Channel, base_url: str, *, secret: str | None = None) -> dict[str, Any]:
    data = None
    if ch.type == "imessage":
        data = {"fromNumber": ch.from_number, "inboundUrl": base_url + INBOUND_PATH.format(ch.id)}
        if secret is not None:
            data["sendBlueWebhookSecret"] = secret
    webhook = None
    if ch.type == "api" and ch.webhook:
        webhook = {
            "name": ch.webhook["name"],
            "url": ch.webhook["url"],
            "headers": ch.webhook.get("headers") or {},
        }
    return {
        "id": ch.id,
        "appId": ch.app_id,
        "slug": ch.slug,
        "name": ch.name,
        "type": ch.type,
        "webhook": webhook,
        "data": data,
        "createdAt": clock.iso(ch.created_at),
        "updatedAt": clock.iso(ch.updated_at),
    }


def find(caller: OrgCaller, channel_id: str) -> Channel:
    """A channel of a live app of the caller's organization, by display id; 404 otherwise."""
    query = (
        Channel.select(Channel, App)
        .join(App)
        .where(
            (Channel.id == channel_id)
            & (App.organization == caller.organization)
            & App.deleted_at.is_null()
        )
    )
    return found(query.first(), "channel", channel_id)


def of_app(app: App, ref: str) -> Channel:
    """A channel of `app` by display id or slug; 404 otherwise."""
    return found(
        Channel.get_or_none((Channel.app == app) & ((Channel.id == ref) | (Channel.slug == ref))),
        "channel",
        f"{ref} in app {app.slug}",
    )


def inbound_channel(channel_id: str) -> Channel | None:
    """The live `imessage` channel an inbound webhook names, whatever its organization."""
    return (
        Channel.select(Channel, App)
        .join(App)
        .where((Channel.id == channel_id) & (Channel.type == "imessage") & App.deleted_at.is_null())
        .first()
    )


def create(caller: OrgCaller, body: dict[str, Any]) -> tuple[Channel, bool, str | None]:
    """(channel, created?, generated webhook secret or None)."""
    slug, kind = body["slug"], body["type"]
    check_slug(slug)
    data, webhook = body.get("data"), body.get("webhook")
    generated: str | None = None
    with write():
        app = apps.find(caller, body["appId"])
        existing = Channel.get_or_none((Channel.app == app) & (Channel.slug == slug))
        if existing is not None:
            if body.get("returnIfExist"):
                return existing, False, None
            raise ApiError(409, "conflict", f"A channel with slug {slug!r} already exists")
        if kind == "api" and data is not None:
            raise ApiError(400, "bad_request", "api channels take no data")
        if kind == "imessage":
            if webhook is not None:
                raise ApiError(400, "bad_request", "imessage channels take no webhook")
            if data is None:
                raise ApiError(
                    400,
                    "bad_request",
                    "imessage channels require data with sendBlueAPIKey, sendBlueSecretKey "
                    "and fromNumber",
                )
        if webhook is not None:
            webhooks.check_url(webhook["url"])
            webhooks.check_headers(webhook.get("headers"))
        secret = None
        if data is not None:
            secret = data.get("sendBlueWebhookSecret")
            if secret is None:
                secret = generated = secrets.token_urlsafe(32)
        now = clock.now()
        try:
            with db.atomic():
                ch = Channel.create(
                    id=ids.new_id("ch", "-"),
                    app=app,
                    slug=slug,
                    name=body.get("name") or slug,
                    type=kind,
                    webhook=webhook,
                    from_number=data["fromNumber"] if data else None,
                    sendblue_api_key=data["sendBlueAPIKey"] if data else None,
                    sendblue_secret_key=data["sendBlueSecretKey"] if data else None,
                    sendblue_webhook_secret=secret,
                    created_at=now,
                    updated_at=now,
                )
        except peewee.IntegrityError:
            raise ApiError(
                409, "conflict", f"A channel with slug {slug!r} already exists"
            ) from None
    return ch, True, generated


def list_page(caller: OrgCaller, app_ref: str, page: int, size: int, base: str) -> dict[str, Any]:
    app = apps.find(caller, app_ref)
    query = Channel.select().where(Channel.app == app)
    return pages.page(query, Channel.created_at, Channel.id, page, size, lambda c: view(c, base))


def update(caller: OrgCaller, channel_id: str, changes: dict[str, Any]) -> Channel:
    """Applies `name` only; `slug` is validated but not applied (as documented)."""
    if "slug" in changes:
        check_slug(changes["slug"])
    with write():
        ch = find(caller, channel_id)
        if "name" in changes:
            ch.name = changes["name"]
        ch.updated_at = clock.now()
        ch.save(only=[Channel.name, Channel.updated_at])
    return ch


def delete(caller: OrgCaller, channel_id: str) -> Channel:
    with write():
        ch = find(caller, channel_id)
        SendblueMessage.delete().where(SendblueMessage.channel == ch.id).execute()
        ch.delete_instance()
    return ch


def messenger(ch: Channel) -> Messenger:
    """The channel's Sendblue client."""
    return messenger_for(
        ch.sendblue_api_key, ch.sendblue_secret_key, sendblue_base_url(), max_retries=2
    )


def send_reply(ch: Channel, to: str, text: str) -> None:
    """Send `text` to `to` from the channel's number (errors are logged, not raised)."""
    client = messenger(ch)
    try:
        # cast: iMessage channels carry a number (send rejects None anyway, logged below)
        client.send(to, text, from_number=cast(str, ch.from_number))
    except Exception as exc:  # a failed reply must not fail the run
        log.warning("sendblue reply on channel %s failed: %s", ch.id, exc)
    finally:
        close = getattr(client, "close", None)
        if close is not None:
            close()


def deliver_webhook(ch: Channel, event: str, instance: dict[str, Any]) -> None:
    """Queue the API channel's webhook delivery of a finished response, if it has one."""
    if ch.type != "api" or not ch.webhook:
        return
    tenant_id = (
        Organization.select(Organization.tenant)
        .join(App, on=App.organization == Organization.id)
        .where(App.id == ch.app_id)
        .scalar()
    )
    try:
        deliveries.enqueue(
            tenant_id,
            PRODUCT,
            ch.id,
            ch.webhook["url"],
            event,
            {"event": event, "data": instance},
            method="POST",
            schedule=webhooks.SCHEDULE,
        )
    except ValueError as exc:
        log.warning("channel %s webhook not queued: %s", ch.id, exc)


def _endpoint(tenant_id: str, channel_id: str) -> deliveries.Endpoint | None:
    ch = (
        Channel.select(Channel.webhook)
        .join(App)
        .join(Organization)
        .where(
            (Channel.id == channel_id)
            & (Organization.tenant == tenant_id)
            & App.deleted_at.is_null()
        )
        .first()
    )
    if ch is None or not ch.webhook:
        return None
    return deliveries.Endpoint(headers=ch.webhook.get("headers") or {})


deliveries.register_product(PRODUCT, user_agent=webhooks.USER_AGENT, schemes={})  # unsigned
deliveries.register_secret_resolver(PRODUCT, _endpoint)
