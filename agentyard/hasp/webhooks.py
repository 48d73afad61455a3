"""Webhook endpoints of an organization, and the events they receive.

Deliveries are core's (`agentyard.core.webhooks`): signed twice (HASP's `X-Hasp-Signature-256`
and Standard Webhooks), retried on HASP's schedule, every attempt recorded. This module keeps
the endpoints (with their secrets, which deliveries fetch through the registered resolver) and
turns an event into one delivery per subscribed endpoint. The body is HASP's
`{id, event, app_id, entity_key, timestamp, data}`.
"""

from __future__ import annotations

import logging
from typing import Any

from agentyard.core import clock, ids, paging
from agentyard.core import webhooks as deliveries
from agentyard.core.errors import ApiError
from agentyard.core.keys import Tenant
from agentyard.core.store import write
from agentyard.core.tenancy import find_in_tenant
from agentyard.hasp import cursors, events
from agentyard.hasp.auth import Caller
from agentyard.hasp.models import WebhookEndpoint

log = logging.getLogger("agentyard.hasp.webhooks")
PRODUCT = "hasp"


def _secret(tenant_id: str, endpoint_id: str) -> str | None:
    row = WebhookEndpoint.get_or_none(
        (WebhookEndpoint.id == endpoint_id)
        & (WebhookEndpoint.tenant == tenant_id)
        & (WebhookEndpoint.deleted_at.is_null())
    )
    return row.secret if row else None


deliveries.register_secret_resolver(PRODUCT, _secret)


def view(row: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": row.id,
        "app_id": row.app_id,
        "url": row.url,
        "events": list(row.events),
        "description": row.description,
        "created_at": clock.iso(row.created_at),
        "deleted_at": clock.iso(row.deleted_at),
    }


def check_target(url: str) -> None:
    """422 for a URL deliveries could never use (scheme, private or loopback address)."""
    reason = deliveries.refusal(url)
    if reason:
        raise ApiError(422, "VALIDATION_FAILED", f"url refused: {reason}", {"param": "url"})


def create(caller: Caller, body: dict[str, Any]) -> tuple[WebhookEndpoint, str]:
    check_target(body["url"])
    secret = deliveries.new_secret()
    with write():
        row = WebhookEndpoint.create(
            id=ids.new_id("we"),
            tenant=caller.org,
            app_id=body["app_id"],
            url=body["url"],
            events=list(body["events"]),
            description=body.get("description"),
            secret=secret,
            created_at=clock.now(),
        )
        events.emit(
            caller,
            "webhook_endpoint.created",
            "webhook_endpoint",
            row.id,
            {"url": row.url, "events": row.events},
        )
    return row, secret


def list_page(org: Tenant, cursor: str | None, limit: int) -> tuple[list[Any], str | None, bool]:
    query = WebhookEndpoint.select().where(
        (WebhookEndpoint.tenant == org) & (WebhookEndpoint.deleted_at.is_null())
    )
    rows, after, more = paging.newest_first(
        query, WebhookEndpoint.created_at, WebhookEndpoint.id, cursors.rows_to_core(cursor), limit
    )
    return rows, cursors.rows_from_core(after), more


def delete(caller: Caller, endpoint_id: str) -> WebhookEndpoint:
    with write():
        row = find_in_tenant(
            WebhookEndpoint,
            endpoint_id,
            caller.org,
            what="webhook endpoint",
            where=WebhookEndpoint.deleted_at.is_null(),
        )
        row.deleted_at = clock.now()
        row.save()
        events.emit(
            caller, "webhook_endpoint.deleted", "webhook_endpoint", row.id, {"url": row.url}
        )
    return row


def deliver(org: Tenant, event: str, data: dict[str, Any]) -> int:
    """Queue `event` to every live endpoint of `org` subscribed to it; how many were queued."""
    targets = [
        row
        for row in WebhookEndpoint.select().where(
            (WebhookEndpoint.tenant == org) & (WebhookEndpoint.deleted_at.is_null())
        )
        if event in row.events
    ]
    queued = 0
    for row in targets:
        body = {
            "id": ids.new_id("evt"),
            "event": event,
            "app_id": row.app_id,
            "entity_key": data.get("entity_id") or data.get("request_id"),
            "timestamp": clock.iso(clock.now()),
            "data": data,
        }
        try:
            deliveries.enqueue(org, PRODUCT, row.id, row.url, event, body)
            queued += 1
        except ValueError as exc:  # the URL became unusable (e.g. configuration changed)
            log.warning("webhook %s to %s not queued: %s", event, row.id, exc)
    return queued
