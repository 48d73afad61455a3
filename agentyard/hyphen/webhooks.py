"""Hyphen webhooks: registrations (`/webhooks`) and the delivery of runtime events to them.

Deliveries are core's (`agentyard.core.webhooks`): background jobs, every attempt recorded,
the SSRF guard re-run at each attempt. Hyphen's policy on top of it:

- the body is the envelope `{"event", "timestamp", "payload"}`;
- two signatures, both keyed with the registration's secret: `X-Hyphen-Signature:
  sha256=<hex>` (HMAC-SHA256 of the raw body, the secret's UTF-8 bytes as key; the `hyphen`
  scheme below) and the Standard Webhooks headers (core's `standard` scheme: a `whsec_`
  secret is base64-decoded as Standard Webhooks says, any other used as UTF-8);
- retries only on 408, 429 and 5xx (and network errors), with exponential backoff from 1 s:
  attempts at 0, 1, 2, 4, 8 and 16 s; any other answer is final;
- `filter` narrows deliveries to payloads matching every key it gives; `auto_payload: false`
  sends only the payload's identifiers and status.

Events come from the engine (`agentyard.hyphen.engine`: runs, approvals, forms), documents
and AI generation (`agentyard.hyphen.ai_generation`: `llm_generation_status`,
`workflow_creation_status`, `llm_key_missing`); the spec's `WebhookEvent` lists them all.

Secrets are encrypted at rest (the registration row) and read by each attempt through the
secret resolver, so a rotated secret signs retries of earlier deliveries too, and a deleted
registration's pending deliveries fail ("endpoint no longer exists").
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from agentyard.core import clock, netguard
from agentyard.core import webhooks as deliveries
from agentyard.core.errors import invalid
from agentyard.core.store import write
from agentyard.core.tenancy import find_in_tenant
from agentyard.hyphen import trail
from agentyard.hyphen.models import WebhookRegistration

log = logging.getLogger("agentyard.hyphen.webhooks")

PRODUCT = "hyphen"
USER_AGENT = "Hyphen-Webhook/1.0"
SIGNATURE_HEADER = "X-Hyphen-Signature"
SCHEDULE: tuple[float, ...] = (0, 1, 2, 4, 8, 16)
RETRY_STATUSES: tuple[int, ...] = (408, 429, *range(500, 600))
ANY_EVENT = "*"
RECENT_DELIVERIES = 20
WHAT = "webhook"


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of `body` keyed with `secret`'s UTF-8 bytes."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """Whether an `X-Hyphen-Signature` value signs `body` with `secret`."""
    return hmac.compare_digest(signature(secret, body), header or "")


def _hyphen_scheme(
    secrets: Sequence[str], body: bytes, msg_id: str, timestamp: int
) -> dict[str, str]:
    return {SIGNATURE_HEADER: signature(secrets[0], body)}


deliveries.register_product(
    PRODUCT,
    user_agent=USER_AGENT,
    schemes={"hyphen": _hyphen_scheme, "standard": deliveries.STANDARD},
)


def _secret_of(org_id: str, webhook_id: str) -> str | None:
    row = WebhookRegistration.get_or_none(
        (WebhookRegistration.id == webhook_id) & (WebhookRegistration.org == org_id)
    )
    return row.secret if row is not None else None


deliveries.register_secret_resolver(PRODUCT, _secret_of)


# --- registrations ----------------------------------------------------------------------------


def check_url(url: str) -> None:
    """400 for a URL deliveries could never reach under the server's policy."""
    try:
        netguard.check_url(url, allow_private=True, require_https=False, resolve=False)
    except netguard.RefusedURLError as exc:
        raise invalid(f"url: {exc}") from None
    reason = deliveries.refusal(url)
    if reason:
        raise invalid(f"url refused: {reason}")


def view(row: WebhookRegistration) -> dict[str, Any]:
    """A registration as the API shows it (never the secret)."""
    return {
        "id": row.id,
        "event": row.event,
        "url": row.url,
        "filter": row.filter or {},
        "auto_payload": row.auto_payload,
        "active": row.active,
        "created_at": clock.iso(row.created_at),
        "updated_at": clock.iso(row.updated_at),
    }


def find(org_id: str, webhook_id: str) -> WebhookRegistration:
    """The org's registration; not_found otherwise."""
    return find_in_tenant(WebhookRegistration, webhook_id, org_id, what=WHAT, tenant_field="org")


def create(
    org_id: str,
    event: str,
    url: str,
    secret: str | None = None,
    filter: Mapping[str, Any] | None = None,
    auto_payload: bool = True,
    active: bool = True,
    actor: str = "",
) -> tuple[WebhookRegistration, str]:
    """Register an endpoint; the row and its secret (made when none is given). Registrations,
    changes and deletions go to the org's audit log (never the secret)."""
    check_url(url)
    secret = secret or deliveries.new_secret()
    now = clock.now()
    with write():
        row = WebhookRegistration.create(
            id=f"wh-{uuid.uuid4()}",
            org=org_id,
            event=event,
            url=url,
            secret=secret,
            filter=dict(filter) if filter else None,
            auto_payload=auto_payload,
            active=active,
            created_at=now,
            updated_at=now,
        )
        trail.record(
            org_id, "hyphen.webhook.create", "webhook", row.id, actor, {"event": event, "url": url}
        )
    return row, secret


def update(
    org_id: str, webhook_id: str, changes: Mapping[str, Any], actor: str = ""
) -> WebhookRegistration:
    """Change the fields `changes` names (`filter: {}` removes the filter)."""
    if "url" in changes:
        check_url(changes["url"])
    with write():
        row = find(org_id, webhook_id)
        for name in ("event", "url", "secret", "filter", "auto_payload", "active"):
            if name in changes:
                setattr(row, name, changes[name] if name != "filter" else changes[name] or None)
        row.updated_at = clock.now()
        row.save()
        trail.record(
            org_id,
            "hyphen.webhook.update",
            "webhook",
            row.id,
            actor,
            {"changed": sorted(changes), "event": row.event, "url": row.url},
        )
    return row


def delete(org_id: str, webhook_id: str, actor: str = "") -> None:
    """Delete the registration (its pending deliveries fail at their next attempt)."""
    with write():
        row = find(org_id, webhook_id)
        WebhookRegistration.delete().where(WebhookRegistration.id == row.id).execute()
        trail.record(org_id, "hyphen.webhook.delete", "webhook", row.id, actor, {"url": row.url})


def page(org_id: str, limit: int, offset: int) -> tuple[list[WebhookRegistration], int]:
    """A page of the org's registrations, oldest first, and how many it has."""
    query = WebhookRegistration.select().where(WebhookRegistration.org == org_id)
    total = query.count()
    rows = query.order_by(WebhookRegistration.created_at, WebhookRegistration.id)
    return list(rows.limit(limit).offset(offset)), total


def recent_deliveries(org_id: str, webhook_id: str) -> list[dict[str, Any]]:
    """The registration's most recent deliveries, newest first, with their attempts."""
    found = []
    for d in deliveries.deliveries(org_id, webhook_id, limit=RECENT_DELIVERIES):
        found.append(
            {
                "id": d.id,
                "event": d.event,
                "status": d.status,
                "attempts": [
                    {
                        "number": a.number,
                        "started_at": clock.iso(a.started_at),
                        "duration_ms": a.duration_ms,
                        "status_code": a.status_code,
                        "error": a.error,
                    }
                    for a in deliveries.attempts(d.id, org_id)
                ],
                "last_status_code": d.last_status_code,
                "last_error": d.last_error,
                "created_at": clock.iso(d.created_at),
            }
        )
    return found


# --- emitting events --------------------------------------------------------------------------


def matches(filter: Mapping[str, Any] | None, payload: Mapping[str, Any]) -> bool:
    """Whether `payload` passes a registration's filter (every key it gives must match)."""
    if not filter:
        return True
    tags = filter.get("tags")
    if tags:
        have = payload.get("tags")
        if not isinstance(have, list) or not set(map(str, have)) & set(tags):
            return False
    for key in ("content_type", "workflow_id"):
        if key in filter and payload.get(key) != filter[key]:
            return False
    return True


def identifiers(payload: Mapping[str, Any]) -> dict[str, Any]:
    """What `auto_payload: false` sends: the payload's ids and status."""
    return {k: v for k, v in payload.items() if k in ("id", "status") or k.endswith("_id")}


def envelope(event: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The delivered body: `{event, timestamp, payload}`."""
    return {"event": event, "timestamp": clock.iso(clock.now()), "payload": dict(payload)}


def emit(org_id: str, event: str, payload: dict[str, Any]) -> None:
    """Queue a delivery of `event` to each of the org's active registrations for it (or for
    `*`) whose filter the payload passes. Never raises into the caller: failures are logged."""
    try:
        rows = list(
            WebhookRegistration.select().where(
                (WebhookRegistration.org == org_id)
                & (WebhookRegistration.active == True)  # noqa: E712 - peewee expression
                & (WebhookRegistration.event.in_([event, ANY_EVENT]))
            )
        )
    except Exception:
        log.exception("could not look up webhooks for %s of org %s", event, org_id)
        return
    for row in rows:
        try:
            if not matches(row.filter, payload):
                continue
            body = envelope(event, payload if row.auto_payload else identifiers(payload))
            deliveries.enqueue(
                org_id,
                PRODUCT,
                row.id,
                row.url,
                event,
                body,
                schedule=SCHEDULE,
                retry_statuses=RETRY_STATUSES,
            )
        except Exception:
            log.exception("could not queue webhook %s for %s", row.id, event)
