"""App webhooks: an outbound call on an app event (`profile.created`, so far).

Deliveries are core's (`agentyard.core.webhooks`): background jobs, retried with backoff
(`SCHEDULE`: 5 attempts), every attempt recorded, the SSRF guard re-run at each attempt.
Harnesslayer webhooks have no signing secret: deliveries are unsigned (the product registers no
signature scheme, and `Harnesslayer-Webhook/1.0` as its `User-Agent`), carry `webhook-id` and
`webhook-timestamp` plus the webhook's configured headers, which attempts read from the
webhook row as it is then (the resolver below), so they are never copied into delivery
records. Each successful delivery adds one to `runCount` and sets `lastTriggeredAt`, in the
transaction that records the success.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from agentyard.core import clock, ids, netguard
from agentyard.core import webhooks as deliveries
from agentyard.core.errors import ApiError
from agentyard.core.store import write
from agentyard.core.tenancy import found
from agentyard.harnesslayer import apps
from agentyard.harnesslayer.auth import OrgCaller
from agentyard.harnesslayer.models import App, Organization
from agentyard.harnesslayer.people_models import Webhook

log = logging.getLogger("agentyard.harnesslayer.webhooks")

PRODUCT = "harnesslayer"
PROFILE_CREATED = "profile.created"
EVENTS = (PROFILE_CREATED,)
SCHEDULE: tuple[float, ...] = (0, 10, 60, 300, 1800)  # 5 attempts
USER_AGENT = "Harnesslayer-Webhook/1.0"


def view(row: Webhook) -> dict[str, Any]:
    return {
        "id": row.id,
        "appId": row.app_id,
        "event": row.event,
        "method": row.method,
        "url": row.url,
        "headers": row.headers,
        "runCount": row.run_count,
        "lastTriggeredAt": clock.iso(row.last_triggered_at),
        "createdAt": clock.iso(row.created_at),
        "updatedAt": clock.iso(row.updated_at),
    }


def check_url(url: str) -> None:
    """400 for a URL that is not a well-formed http(s) URL (the schema's pattern says which);
    403 `url_refused` for a well-formed one deliveries may not use under the server's policy
    (http when https is required, a private, loopback or link-local address)."""
    try:
        netguard.check_url(url, allow_private=True, require_https=False, resolve=False)
    except netguard.RefusedURLError as exc:
        raise ApiError(400, "bad_request", f"url: {exc}", {"field": "url"}) from None
    reason = deliveries.refusal(url)
    if reason:
        raise ApiError(403, "url_refused", f"url refused: {reason}", {"field": "url"})


def check_headers(headers: dict[str, str] | None) -> None:
    """400 for a header that cannot be sent or would override a delivery's own headers."""
    for name, value in (headers or {}).items():
        if deliveries.is_protected_header(name):
            raise ApiError(400, "bad_request", f"header {name!r} cannot be set on a webhook")
        if not deliveries.valid_header(name, value):
            raise ApiError(
                400,
                "bad_request",
                f"header {name!r} is not a valid HTTP header (a token name, a Latin-1 value "
                "without control characters)",
            )


def find(caller: OrgCaller, webhook_id: str) -> Webhook:
    """A webhook of a live app of the caller's organization; 404 otherwise."""
    query = (
        Webhook.select()
        .join(App)
        .where(
            (Webhook.id == webhook_id)
            & (App.organization == caller.organization)
            & (App.deleted_at.is_null())
        )
    )
    return found(query.first(), "webhook", webhook_id)


def create(caller: OrgCaller, body: dict[str, Any]) -> Webhook:
    check_url(body["url"])
    check_headers(body.get("headers"))
    now = clock.now()
    with write():
        app = apps.find(caller, body["appId"])
        return Webhook.create(
            id=ids.new_id("wh", "-"),
            app=app,
            event=body["event"],
            method=body.get("method") or "POST",
            url=body["url"],
            headers=body.get("headers"),
            run_count=0,
            last_triggered_at=None,
            created_at=now,
            updated_at=now,
        )


_FIELDS = {
    "event": "event",
    "method": "method",
    "url": "url",
    "headers": "headers",
    "runCount": "run_count",
    "lastTriggeredAt": "last_triggered_at",
}


def update(caller: OrgCaller, body: dict[str, Any]) -> Webhook:
    """Change the fields sent (`headers`/`lastTriggeredAt` null clear them). `webhookId` or
    its alias `id` names the webhook: exactly one of them (the schema says so)."""
    ref, alias = body.get("webhookId"), body.get("id")
    if (ref is None) == (alias is None):
        raise ApiError(400, "bad_request", "Send webhookId or its alias id (exactly one)")
    changes = {k: v for k, v in body.items() if k in _FIELDS}
    if "url" in changes:
        check_url(changes["url"])
    if "headers" in changes:
        check_headers(changes["headers"])
    if isinstance(changes.get("lastTriggeredAt"), dt.datetime):
        changes["lastTriggeredAt"] = clock.to_naive(changes["lastTriggeredAt"])
    with write():
        row = find(caller, cast(str, ref or alias))  # exactly one is given (checked above)
        if changes:
            for key, value in changes.items():
                setattr(row, _FIELDS[key], value)
            row.updated_at = clock.now()
            row.save(only=[Webhook.updated_at, *(getattr(Webhook, _FIELDS[k]) for k in changes)])
    return row


# --- events ----------------------------------------------------------------------------------


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def profile_created(app: App, profile: dict[str, Any]) -> int:
    """Queue `profile.created` (with `profile`, its API view) to the app's webhooks; how many
    deliveries were queued. Call it after the profile's transaction has committed."""
    rows = list(
        Webhook.select().where((Webhook.app == app.id) & (Webhook.event == PROFILE_CREATED))
    )
    if not rows:
        return 0
    tenant_id = (
        Organization.select(Organization.tenant).where(Organization.id == app.organization_id)
    ).scalar()
    created_at = clock.iso(clock.now())
    queued = 0
    for row in rows:
        if row.method in deliveries.BODYLESS:
            params = {"event": PROFILE_CREATED, "appId": app.id, "profileId": profile["id"]}
            url, payload = _with_query(row.url, params), dict(params)
        else:
            url = row.url
            payload = {
                "event": PROFILE_CREATED,
                "appId": app.id,
                "data": profile,
                "createdAt": created_at,
            }
        try:
            deliveries.enqueue(
                tenant_id,
                PRODUCT,
                row.id,
                url,
                PROFILE_CREATED,
                payload,
                method=row.method,
                schedule=SCHEDULE,
            )
            queued += 1
        except ValueError as exc:  # the URL became unusable (e.g. configuration changed)
            log.warning("webhook %s of app %s not queued: %s", row.id, app.id, exc)
    return queued


def _endpoint(tenant_id: str, webhook_id: str) -> deliveries.Endpoint | None:
    """What an attempt sends to a webhook now: its headers; None once it or its app is gone."""
    row = (
        Webhook.select(Webhook.headers)
        .join(App)
        .join(Organization)
        .where(
            (Webhook.id == webhook_id)
            & (Organization.tenant == tenant_id)
            & (App.deleted_at.is_null())
        )
        .first()
    )
    return None if row is None else deliveries.Endpoint(headers=row.headers or {})


def _delivered(delivery: deliveries.Delivery, at: dt.datetime) -> None:
    Webhook.update(run_count=Webhook.run_count + 1, last_triggered_at=at).where(
        Webhook.id == delivery.endpoint_ref
    ).execute()


deliveries.register_product(PRODUCT, user_agent=USER_AGENT, schemes={})  # unsigned
deliveries.register_secret_resolver(PRODUCT, _endpoint)
deliveries.register_success_callback(PRODUCT, _delivered)
