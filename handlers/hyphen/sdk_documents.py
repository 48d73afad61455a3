"""/sdk/documents: uploads through a publishable key, streamed as `POST /documents` is
(`handlers.hyphen.documents.form` / `store_upload`), optionally starting a run
(agentyard.hyphen.sdk_documents)."""

from __future__ import annotations

from typing import Any

from agentyard.core import aio
from agentyard.core.store import with_connection
from agentyard.hyphen import sdk_documents
from handlers.hyphen import documents
from handlers.hyphen.security import sdk_caller


async def uploadSdkDocument(
    body: dict[str, Any] | None = None, file: Any = None, **_parts: Any
) -> tuple[dict[str, Any], int]:
    """Upload a document as the signed-in user; with `workflow_id`, start its run."""
    who = sdk_caller()
    upload, text = documents.form(body, file, "SdkDocumentUpload")
    workflow = await aio.run_blocking(
        with_connection(sdk_documents.check_upload), who, text.get("workflow_id")
    )
    doc = await documents.store_upload(who.org_id, who.actor, upload, text)
    view = await aio.run_blocking(with_connection(sdk_documents.record), who, doc, workflow)
    return view, 201


def listSdkDocuments(
    workflow_id: str | None = None, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    """The documents uploaded through the key, newest first."""
    items, total = sdk_documents.page(sdk_caller(), workflow_id, limit, offset)
    return {"documents": items, "total": total, "limit": limit, "offset": offset}
