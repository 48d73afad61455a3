"""Inbound webhook triggers: calls to an inbound webhook's public URL, each kept as a receipt.

`POST /api/internal/webhooks/{id}/inbound` takes no session: the caller signs the raw body
with the webhook's secret exactly like HASP's outbound scheme,
`X-Hasp-Signature-256: sha256=<hex HMAC-SHA256(key = the whole secret string as UTF-8,
message = the raw body)>`. Every call to a live inbound webhook is a receipt (selected headers,
the body's SHA-256, the verification result and reason, the run it started). A verified call
to an active webhook starts a run of its workflow with the JSON body as input and trigger
`{type: webhook, webhook_id, receipt_id}`; an unverified one starts nothing (401).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from agentyard.core import clock, ids
from agentyard.core.errors import ApiError, not_found
from agentyard.core.store import write
from agentyard.hasp import webhook_signing
from agentyard.hasp.studio import audit, project_webhooks, projects
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.models import Project
from agentyard.hasp.studio.run_service import start_triggered
from agentyard.hasp.studio.workflow_models import StudioWebhook, StudioWorkflow, WebhookReceipt

# The request headers a receipt keeps (never credentials or cookies).
KEPT_HEADERS = (
    "content-type",
    "content-length",
    "user-agent",
    "x-hasp-signature-256",
    "x-hasp-webhook-id",
    "x-request-id",
    "webhook-id",
    "webhook-timestamp",
)


def view(row: WebhookReceipt) -> dict[str, Any]:
    return {
        "id": row.id,
        "webhook_id": row.webhook_id,
        "received_at": clock.iso(row.received_at),
        "headers": dict(row.headers or {}),
        "body_sha256": row.body_sha256,
        "body_size": row.body_size,
        "verified": bool(row.verified),
        "reason": row.reason,
        "simulated": bool(row.simulated),
        "run_id": row.run_id,
    }


def _kept(headers: Mapping[str, str]) -> dict[str, str]:
    lower = {k.lower(): v for k, v in headers.items()}
    return {k: str(lower[k])[:512] for k in KEPT_HEADERS if k in lower}


def _record(
    row: StudioWebhook, headers: Mapping[str, str], body: bytes, *, simulated: bool
) -> WebhookReceipt:
    secret = project_webhooks.secret_of(row)
    signature = {k.lower(): v for k, v in headers.items()}.get("x-hasp-signature-256")
    verified = webhook_signing.verify_hasp_signature(secret, body, signature)
    reason = None
    if not signature:
        reason = "missing X-Hasp-Signature-256"
    elif not verified:
        reason = "signature does not match the body"
    elif not row.active:
        reason = "the webhook is inactive"
    payload: Any = None
    if verified and row.active:
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            payload = {"raw": body.decode("utf-8", "replace")}
    receipt_id = ids.new_id("rcp")
    run_id = None
    if payload is not None:
        workflow = StudioWorkflow.get_or_none(StudioWorkflow.id == row.workflow_id)
        project = Project.get_by_id(row.project_id)
        if workflow is None:
            reason = "the webhook's workflow no longer exists"
        elif project.archived_at is not None:
            reason = "the project is archived"
        else:
            trigger = {"type": "webhook", "webhook_id": row.id, "receipt_id": receipt_id}
            run_id = start_triggered(workflow, payload, trigger).id
    with write():
        return WebhookReceipt.create(
            id=receipt_id, tenant=row.tenant_id, webhook=row, received_at=clock.now(),
            headers=_kept(headers), body_sha256=hashlib.sha256(body).hexdigest(),
            body_size=len(body), verified=verified, reason=reason, simulated=simulated,
            run_id=run_id,
        )  # fmt: skip


def receive(webhook_id: str, headers: Mapping[str, str], body: bytes) -> WebhookReceipt:
    """A call to the public URL: 404 for no live inbound webhook, 401 (receipt kept) for a bad
    signature, 409 (receipt kept) for an inactive webhook."""
    row = StudioWebhook.get_or_none(
        (StudioWebhook.id == webhook_id)
        & (StudioWebhook.direction == "inbound")
        & StudioWebhook.deleted_at.is_null()
    )
    if row is None:
        raise not_found("webhook", webhook_id)
    receipt = _record(row, headers, body, simulated=False)
    if not receipt.verified:
        raise ApiError(
            401, "INVALID_SIGNATURE", f"{receipt.reason}", details={"receipt_id": receipt.id}
        )
    if receipt.run_id is None:
        raise ApiError(
            409, "WEBHOOK_INACTIVE", f"{receipt.reason}", details={"receipt_id": receipt.id}
        )
    return receipt


def simulate(member: Member, webhook_id: str) -> dict[str, Any]:
    """Inbound `POST …/test`: a signed `webhook.test` call processed as a real one."""
    row, project = project_webhooks.find(member, webhook_id, "builder")
    projects.writable(project)
    body = json.dumps(
        {"event": project_webhooks.TEST_EVENT, "webhook_id": row.id, "test": True},
        separators=(",", ":"),
    ).encode()
    headers = {
        "content-type": "application/json",
        "user-agent": webhook_signing.USER_AGENT,
        "x-hasp-signature-256": webhook_signing.hasp_signature(
            project_webhooks.secret_of(row), body
        ),
    }
    receipt = _record(row, headers, body, simulated=True)
    audit.record(
        member, "webhook.tested", "webhook", row.id, project_id=project.id,
        after={"receipt_id": receipt.id, "run_id": receipt.run_id},
    )  # fmt: skip
    return {"direction": "inbound", "event": project_webhooks.TEST_EVENT, "receipt": view(receipt)}


def list_page(
    member: Member, webhook_id: str, cursor: str | None, limit: int
) -> tuple[list[WebhookReceipt], str | None, bool]:
    """The webhook's receipts, newest first (project viewer; an outbound webhook has none)."""
    from agentyard.core import paging
    from agentyard.hasp import cursors

    row, _ = project_webhooks.find(member, webhook_id, "viewer")
    query = WebhookReceipt.select().where(WebhookReceipt.webhook == row)
    rows, after, more = paging.newest_first(
        query, WebhookReceipt.received_at, WebhookReceipt.id, cursors.rows_to_core(cursor), limit
    )
    return rows, cursors.rows_from_core(after), more
