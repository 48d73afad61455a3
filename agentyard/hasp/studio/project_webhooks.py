"""Project webhooks: outbound endpoints (the project's events POSTed, signed, to a URL) and
inbound webhook triggers (a public URL whose signed calls start runs of a workflow).

Outbound deliveries go through core's delivery engine as product `hasp-studio`, signed exactly
like HASP's other webhooks (`agentyard.hasp.webhook_signing`: `X-Hasp-Signature-256`,
Standard Webhooks, `User-Agent: Hasp-Webhook/1.0`) with the body `{id, event, app_id,
entity_key, timestamp, data}`; `emit(...)` queues an event to the project's subscribed
endpoints. Record changes reported through `record_port.changed` are emitted here as
`record.created|updated|deleted` (data `{entity_id, entity, record_id, fields, record,
before}`); the records domain calls `emit` itself for `record.bulk_created` and
`schema.updated`, the releases module for `release.requested|approved|rejected|cancelled|
published|rolled_back` (data `{release, ...}`).

Secrets (`whsec_...`) are shown once, at creation, and stored encrypted with `core.vault`.
Every change is in the project audit (before/after, the secret never).
"""

from __future__ import annotations

import logging
from typing import Any

from agentyard.core import clock, ids, paging, vault
from agentyard.core import webhooks as deliveries
from agentyard.core.errors import ApiError, not_found
from agentyard.core.keys import Tenant
from agentyard.core.store import write
from agentyard.hasp import cursors, webhook_signing
from agentyard.hasp.studio import audit, projects, record_port, roles
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.models import Project
from agentyard.hasp.studio.workflow_models import StudioApp, StudioWebhook, StudioWorkflow

log = logging.getLogger("agentyard.hasp.studio")

PRODUCT = "hasp-studio"
SECRET_CONTEXT = "hasp.studio.webhook.secret"
TEST_EVENT = "webhook.test"
INBOUND_PATH = "/api/internal/webhooks/{id}/inbound"


def _secret(tenant_id: str, webhook_id: str) -> str | None:
    row = StudioWebhook.get_or_none(
        (StudioWebhook.id == webhook_id)
        & (StudioWebhook.tenant == tenant_id)
        & StudioWebhook.deleted_at.is_null()
    )
    return secret_of(row) if row else None


deliveries.register_product(
    PRODUCT, user_agent=webhook_signing.USER_AGENT, schemes=webhook_signing.SCHEMES
)
deliveries.register_secret_resolver(PRODUCT, _secret)


def secret_of(row: StudioWebhook) -> str:
    """The webhook's secret (decrypted)."""
    return vault.decrypt(str(row.secret), SECRET_CONTEXT)


def view(row: StudioWebhook, base_url: str | None = None) -> dict[str, Any]:
    inbound = None
    if row.direction == "inbound":
        inbound = (base_url or "") + INBOUND_PATH.format(id=row.id)
    return {
        "id": row.id,
        "project_id": row.project_id,
        "direction": row.direction,
        "name": row.name,
        "url": row.url,
        "inbound_url": inbound,
        "events": list(row.events or []),
        "app_id": row.app_id,
        "workflow_id": row.workflow_id,
        "active": bool(row.active),
        "created_at": clock.iso(row.created_at),
        "updated_at": clock.iso(row.updated_at),
    }


def _invalid(message: str, param: str) -> ApiError:
    return ApiError(422, "VALIDATION_FAILED", message, details={"param": param})


def _check_url(url: str | None) -> str:
    if not url:
        raise _invalid("an outbound webhook needs url", "url")
    reason = deliveries.refusal(url)
    if reason:
        raise _invalid(f"url refused: {reason}", "url")
    return url


def _check_workflow(project: Project, workflow_id: str | None) -> str:
    if not workflow_id:
        raise _invalid(
            "an inbound webhook needs workflow_id (the workflow it starts)", "workflow_id"
        )
    wf = StudioWorkflow.get_or_none(
        (StudioWorkflow.id == workflow_id) & (StudioWorkflow.project == project)
    )
    if wf is None:
        raise _invalid(f"no workflow {workflow_id} in this project", "workflow_id")
    if wf.trigger_type not in ("webhook", "manual"):
        raise _invalid(
            f"workflow {workflow_id} has a {wf.trigger_type} trigger; an inbound webhook starts "
            "workflows whose trigger is webhook (or manual)",
            "workflow_id",
        )
    return str(wf.id)


def _check_app(project: Project, app_id: str | None) -> str | None:
    if app_id is None:
        return None
    if (
        not StudioApp.select()
        .where((StudioApp.id == app_id) & (StudioApp.project == project))
        .exists()
    ):
        raise _invalid(f"no app {app_id} in this project", "app_id")
    return app_id


def create(member: Member, project_id: str, body: dict[str, Any]) -> tuple[StudioWebhook, str]:
    """A new webhook (project builder; not archived) and its secret (shown once)."""
    project, _ = roles.find_project(member, project_id, "builder")
    projects.writable(project)
    direction = body["direction"]
    url = workflow_id = None
    events: list[str] = []
    if direction == "outbound":
        url = _check_url(body.get("url"))
        events = sorted(set(body.get("events") or []))
        if not events:
            raise _invalid("an outbound webhook needs events (one at least)", "events")
        if body.get("workflow_id"):
            raise _invalid("workflow_id is for inbound webhooks", "workflow_id")
    else:
        workflow_id = _check_workflow(project, body.get("workflow_id"))
        for key in ("url", "events"):
            if body.get(key):
                raise _invalid(f"{key} is for outbound webhooks", key)
    app_id = _check_app(project, body.get("app_id"))
    secret = deliveries.new_secret()
    now = clock.now()
    with write():
        row = StudioWebhook.create(
            id=ids.new_id("whk"), tenant=member.org_id, project=project, direction=direction,
            name=body["name"].strip(), url=url, events=events, app_id=app_id,
            workflow_id=workflow_id, active=True,
            secret=vault.encrypt(secret, SECRET_CONTEXT), created_by=member.user_id,
            created_at=now, updated_at=now,
        )  # fmt: skip
        audit.record(
            member, "webhook.created", "webhook", row.id, project_id=project.id, after=view(row)
        )
    return row, secret


def list_page(
    member: Member, project_id: str, cursor: str | None, limit: int
) -> tuple[list[StudioWebhook], str | None, bool]:
    """The project's webhooks, newest first (project viewer)."""
    project, _ = roles.find_project(member, project_id, "viewer")
    query = StudioWebhook.select().where(
        (StudioWebhook.project == project) & StudioWebhook.deleted_at.is_null()
    )
    rows, after, more = paging.newest_first(
        query, StudioWebhook.created_at, StudioWebhook.id, cursors.rows_to_core(cursor), limit
    )
    return rows, cursors.rows_from_core(after), more


def find(member: Member, webhook_id: str, role: str) -> tuple[StudioWebhook, Project]:
    """The org's live webhook and its project, once the member holds `role` there (404 for
    another org's, a deleted one, or one in a project the member cannot see)."""
    row = StudioWebhook.get_or_none(
        (StudioWebhook.id == webhook_id)
        & (StudioWebhook.tenant == member.org_id)
        & StudioWebhook.deleted_at.is_null()
    )
    if row is None:
        raise not_found("webhook", webhook_id)
    project = Project.get_by_id(row.project_id)
    if roles.project_role(member, project) is None:
        raise not_found("webhook", webhook_id)
    roles.require(member, role, project)
    return row, project


def update(member: Member, webhook_id: str, changes: dict[str, Any]) -> StudioWebhook:
    """Change name, url, events (outbound) or active (project builder; not archived)."""
    row, project = find(member, webhook_id, "builder")
    projects.writable(project)
    before = view(row)
    if row.direction == "inbound":
        for key in ("url", "events"):
            if changes.get(key) is not None:
                raise _invalid(f"{key} is for outbound webhooks", key)
    if changes.get("url") is not None:
        row.url = _check_url(changes["url"])
    if changes.get("events") is not None:
        if not changes["events"]:
            raise _invalid("an outbound webhook needs events (one at least)", "events")
        row.events = sorted(set(changes["events"]))
    if changes.get("name") is not None:
        row.name = changes["name"].strip()
    if changes.get("active") is not None:
        row.active = bool(changes["active"])
    with write():
        row.updated_at = clock.now()
        row.save()
        audit.record(
            member, "webhook.updated", "webhook", row.id, project_id=project.id,
            before=before, after=view(row),
        )  # fmt: skip
    return row


def delete(member: Member, webhook_id: str) -> StudioWebhook:
    """Delete the webhook (project builder; not archived): no more deliveries or receipts."""
    row, project = find(member, webhook_id, "builder")
    projects.writable(project)
    before = view(row)
    with write():
        row.deleted_at = row.updated_at = clock.now()
        row.active = False
        row.save()
        audit.record(
            member, "webhook.deleted", "webhook", row.id, project_id=project.id, before=before
        )
    return row


def _body(row: StudioWebhook, event: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": ids.new_id("evt"),
        "event": event,
        "app_id": row.app_id,
        "entity_key": data.get("record_id") or data.get("entity_id"),
        "timestamp": clock.iso(clock.now()),
        "data": data,
    }


def emit(
    org: Tenant | str, project_id: str, event: str, data: dict[str, Any], app_id: str | None = None
) -> int:
    """Queue `event` to the project's active outbound webhooks subscribed to it (and, when
    `app_id` is given, bound to that app or to none); how many were queued."""
    org_id = org if isinstance(org, str) else str(org.id)
    query = StudioWebhook.select().where(
        (StudioWebhook.tenant == org_id)
        & (StudioWebhook.project == project_id)
        & (StudioWebhook.direction == "outbound")
        & StudioWebhook.active
        & StudioWebhook.deleted_at.is_null()
    )
    queued = 0
    for row in query:
        if event not in (row.events or []):
            continue
        if app_id is not None and row.app_id not in (None, app_id):
            continue
        try:
            deliveries.enqueue(
                org_id, PRODUCT, row.id, str(row.url), event, _body(row, event, data)
            )
            queued += 1
        except ValueError as exc:
            log.warning("studio webhook %s to %s not queued: %s", event, row.id, exc)
    return queued


def send_test(member: Member, webhook_id: str) -> dict[str, Any]:
    """Outbound: send a signed `webhook.test` event now (one attempt) and report it."""
    row, project = find(member, webhook_id, "builder")
    projects.writable(project, authoring=False)
    data = {"webhook_id": row.id, "project_id": row.project_id, "test": True}
    try:
        done = deliveries.enqueue(
            member.org_id, PRODUCT, row.id, str(row.url), TEST_EVENT, _body(row, TEST_EVENT, data),
            schedule=(0,), send_now=True,
        )  # fmt: skip
    except ValueError as exc:
        raise _invalid(f"url refused: {exc}", "url") from None
    audit.record(
        member, "webhook.tested", "webhook", row.id, project_id=project.id,
        after={"delivery_id": done.id, "status": done.status},
    )  # fmt: skip
    return {
        "direction": "outbound",
        "event": TEST_EVENT,
        "delivery_id": done.id,
        "status": done.status,
        "status_code": done.last_status_code,
        "error": done.last_error,
    }


def on_record_change(change: record_port.RecordChange) -> int:
    """Emit a reported record change to the project's outbound webhooks."""
    data = {
        "entity_id": change.entity_id,
        "entity": change.entity_name,
        "record_id": change.record_id,
        "fields": list(change.fields),
        "record": dict(change.after) if change.after is not None else None,
        "before": dict(change.before) if change.before is not None else None,
    }
    return emit(change.org_id, change.project_id, f"record.{change.event}", data)


record_port.listen(on_record_change)
