"""Webhook endpoints of an organization: create, list, delete (audited as events).

Turning an event into deliveries is `webhook_fanout.deliver` (reached through `events`);
how they are signed is `webhook_signing`; the deliveries are core's (`agentyard.core.webhooks`).
"""

from __future__ import annotations

from typing import Any

from agentyard.core import clock, ids, paging
from agentyard.core import webhooks as deliveries
from agentyard.core.errors import ApiError
from agentyard.core.keys import Tenant
from agentyard.core.store import write
from agentyard.core.tenancy import find_in_tenant
from agentyard.hasp import cursors, events
from agentyard.hasp.caller import Caller
from agentyard.hasp.models import WebhookEndpoint


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
