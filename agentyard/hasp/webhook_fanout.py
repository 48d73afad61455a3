"""Fan-out of HASP webhook events: one core delivery per live endpoint subscribed to an event.

Deliveries are core's (`agentyard.core.webhooks`): signed as `webhook_signing` registers
(HASP's `X-Hasp-Signature-256` and Standard Webhooks), retried on core's schedule, every attempt
recorded. Attempts fetch an endpoint's secret through the resolver registered here. The body is
HASP's `{id, event, app_id, entity_key, timestamp, data}`. Endpoint CRUD is `hasp.webhooks`.
"""

from __future__ import annotations

import logging
from typing import Any

from agentyard.core import clock, ids
from agentyard.core import webhooks as deliveries
from agentyard.core.keys import Tenant
from agentyard.core.store import Prepared
from agentyard.hasp.models import WebhookEndpoint
from agentyard.hasp.webhook_signing import PRODUCT

log = logging.getLogger("agentyard.hasp.webhooks")


def _secret(tenant_id: str, endpoint_id: str) -> str | None:
    row = WebhookEndpoint.get_or_none(
        (WebhookEndpoint.id == endpoint_id)
        & (WebhookEndpoint.tenant == tenant_id)
        & (WebhookEndpoint.deleted_at.is_null())
    )
    return row.secret if row else None


deliveries.register_secret_resolver(PRODUCT, _secret)


def _live(tenant_id: str) -> Any:
    return WebhookEndpoint.select().where(
        (WebhookEndpoint.tenant == tenant_id) & (WebhookEndpoint.deleted_at.is_null())
    )


# read for every event announced (two per gateway call): SQL compiled once
_LIVE: Prepared[WebhookEndpoint] = Prepared(_live)
_LIVE_FOR_APP: Prepared[WebhookEndpoint] = Prepared(
    lambda tenant_id, app_id: _live(tenant_id).where(WebhookEndpoint.app_id == app_id)
)


def deliver(org: Tenant, event: str, data: dict[str, Any], app_id: str | None = None) -> int:
    """Queue `event` to every live endpoint of `org` subscribed to it (only those registered
    for `app_id` when given: Studio's record and schema events); how many were queued."""
    return deliver_all(org, [(event, data)], app_id)


def deliver_all(
    org: Tenant, announcements: list[tuple[str, dict[str, Any]]], app_id: str | None = None
) -> int:
    """`deliver` for several events of one moment, reading the org's endpoints once."""
    if not announcements:
        return 0
    endpoints = _LIVE(org.id) if app_id is None else _LIVE_FOR_APP(org.id, app_id)
    queued = 0
    for event, data in announcements:
        for row in endpoints:
            if event not in row.events:
                continue
            body = {
                "id": ids.new_id("evt"),
                "event": event,
                "app_id": row.app_id,
                "entity_key": data.get("entity_key")
                or data.get("entity_id")
                or data.get("request_id"),
                "timestamp": clock.iso(clock.now()),
                "data": data,
            }
            try:
                deliveries.enqueue(org, PRODUCT, row.id, row.url, event, body)
                queued += 1
            except ValueError as exc:  # the URL became unusable (e.g. configuration changed)
                log.warning("webhook %s to %s not queued: %s", event, row.id, exc)
    return queued
