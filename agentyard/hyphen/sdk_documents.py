"""SDK documents: uploads through a publishable key, each optionally starting a workflow run.

What a key sees: the documents uploaded through that key (by any of its sessions), newest
first, not the rest of the org's (those may hold anything; a page embedding a publishable key
must not list them). Deleted documents disappear as they do from `/documents`.

Uploading needs a session signed in as a user who is not a `viewer`; the document's audit
names the user's email. With `workflow_id` (a workflow id or name the key allows; else 403,
an allowed one that does not exist 404), the upload starts a run of that workflow whose
`@input` is `{"document_id", "document": {id, name, content_type, size, tags, metadata}}`
("uploads trigger runs", as Hyphen's doc feed does), and `run:status` `{runId, status:
"running", documentId}` reaches the org's SDK streams. When the workflow refuses that input
(its input schema), the document is deleted again and the answer is the 400.
"""

from __future__ import annotations

from typing import Any

from agentyard import flows
from agentyard.core import clock
from agentyard.core.errors import ApiError, not_found
from agentyard.core.store import write
from agentyard.hyphen import documents, sdk_access, sdk_events, usage, workflows
from agentyard.hyphen.document_models import Document
from agentyard.hyphen.sdk import SdkCaller
from agentyard.hyphen.sdk_resources_models import SdkDocument
from agentyard.hyphen.workflow_models import Workflow

# The upload body is streamed by its handler, not buffered by the request guard.
UPLOAD_PATH_PATTERN = r"/sdk/documents"


def check_upload(caller: SdkCaller, workflow_ref: str | None) -> Workflow | None:
    """Before any byte is stored: the caller may upload, and the workflow (if named) is one
    the key allows and the org has."""
    sdk_access.require_user(caller, write=True)
    if not workflow_ref:
        return None
    row = Workflow.get_or_none((Workflow.id == workflow_ref) & (Workflow.org == caller.org_id))
    if row is None:
        row = workflows.by_name(caller.org_id, workflow_ref)
    if row is None:
        sdk_access.require_workflow(caller, workflow_ref, workflow_ref)
        raise not_found("workflow", workflow_ref)
    sdk_access.require_workflow(caller, row.id, row.name)
    return row


def _run_input(doc: Document) -> dict[str, Any]:
    view = documents.view(doc)
    keep = ("id", "name", "content_type", "size", "tags", "metadata")
    return {"document_id": doc.id, "document": {k: view[k] for k in keep}}


def record(caller: SdkCaller, doc: Document, workflow: Workflow | None) -> dict[str, Any]:
    """Record the upload as the key's, start the workflow's run on it; the SDK view."""
    run_id: str | None = None
    if workflow is not None:
        try:
            run_id = workflows.execute(caller.org_id, workflow.id, _run_input(doc)).id
        except ApiError:
            documents.delete(caller.org_id, doc.id, caller.actor)
            raise
        usage.record_run(caller.key_id, caller.org_id)
    with write():
        row = SdkDocument.create(
            document=doc.id,
            key=caller.key_id,
            org=caller.org_id,
            workflow_id=workflow.id if workflow is not None else None,
            run_id=run_id,
            uploaded_by=caller.actor,
            created_at=clock.now(),
        )
    if workflow is not None and run_id is not None:
        sdk_events.publish(
            caller.org_id,
            sdk_events.RUN_STATUS,
            {"runId": run_id, "status": "running", "documentId": doc.id},
            workflow_id=workflow.id,
            workflow_name=workflow.name,
        )
    return view(doc, row)


def _run_status(run_id: str | None) -> str | None:
    if run_id is None:
        return None
    try:
        status = flows.get_run(run_id).status
    except flows.RunNotFoundError:  # a run collected since: the document stays listed
        return None
    return "paused" if status == "waiting" else str(status)


def view(doc: Document, row: SdkDocument) -> dict[str, Any]:
    """A document as `/sdk/documents` shows it: `/documents`' view, who uploaded it and the
    run it started (with that run's current status)."""
    return {
        **documents.view(doc),
        "uploaded_by": row.uploaded_by,
        "workflow_id": row.workflow_id,
        "run_id": row.run_id,
        "run_status": _run_status(row.run_id),
    }


def page(
    caller: SdkCaller, workflow_id: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """The documents uploaded through the caller's key (of one workflow), newest first."""
    within = SdkDocument.select(SdkDocument.document).where(
        (SdkDocument.key == caller.key_id) & (SdkDocument.org == caller.org_id)
    )
    if workflow_id:
        within = within.where(SdkDocument.workflow_id == workflow_id)
    docs, total = documents.page(caller.org_id, limit=limit, offset=offset, within=within)
    rows = {
        r.document_id: r
        for r in SdkDocument.select().where(SdkDocument.document.in_([d.id for d in docs]))
    }
    return [view(d, rows[d.id]) for d in docs], total
