"""/documents: the org's uploaded files, their versions, downloads, audit and storage usage.

Uploads are `multipart/form-data` read as a stream (`agentyard.core.multipart`): Starlette
spools the file part to a temporary file, which is copied by chunks into a blob spool; the
fields Connexion hands over (the spec's; others are ignored) are checked here.
"""

from __future__ import annotations

import functools
import mimetypes
from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.responses import StreamingResponse

from agentyard.core import aio, multipart
from agentyard.core.errors import ApiError, invalid
from agentyard.core.store import with_connection
from agentyard.core.surfaces import SPECS
from agentyard.hyphen import auth, documents
from agentyard.hyphen.document_models import Document
from agentyard.specs import document
from handlers.hyphen.security import caller


@functools.cache
def _schema(name: str) -> dict[str, Any]:
    """A body schema of the served spec (with the limits every surface declares); read
    once per process, never mutated."""
    return cast(
        dict[str, Any], document.served(SPECS / "hyphen.yaml")["components"]["schemas"][name]
    )


def form(body: dict[str, Any] | None, file: Any, schema: str) -> tuple[UploadFile, dict[str, str]]:
    """The uploaded file and the text fields, checked against the spec's body `schema`
    (Connexion does not validate multipart bodies here: `core.multipart`)."""
    if not isinstance(file, UploadFile):
        raise invalid("file: a file part is required")
    fields = {k: v for k, v in (body or {}).items() if not isinstance(v, UploadFile)}
    problem = multipart.field_errors(fields, _schema(schema))
    if problem is not None:
        raise invalid(problem)
    known = _schema(schema)["properties"]
    text = {k: v for k, v in fields.items() if k in known and isinstance(v, str) and v != ""}
    return file, text


def _content_type(text: dict[str, str], upload: UploadFile, name: str) -> str:
    if "content_type" in text:
        return documents.check_content_type(text["content_type"])
    return _guess(upload.content_type, name)


def _guess(media: str | None, name: str) -> str:
    """The media type a sender gave, unless generic; else guessed from the name."""
    part = (media or "").split(";", 1)[0].strip().lower()
    if part and part != "application/octet-stream" and documents.CONTENT_TYPE.fullmatch(part):
        return part
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


async def store_upload(
    org_id: str, actor: str, upload: UploadFile, text: dict[str, str]
) -> Document:
    """Stream a checked upload (`form`'s answer) into a new document of the org: its name from
    the part, `content_type`, `tags` and `metadata` from the text fields. Shared by
    `POST /documents` and `POST /sdk/documents`."""
    name = documents.check_name(upload.filename or "document")
    content_type = _content_type(text, upload, name)
    tags = documents.parse_tags(text.get("tags"))
    metadata = documents.parse_metadata(text.get("metadata"))
    with documents.spool() as spool:
        await aio.run_blocking(documents.copy_to_spool, upload.file, spool)
        return await aio.run_blocking(
            with_connection(
                lambda: documents.create(
                    org_id,
                    actor,
                    name=name,
                    content_type=content_type,
                    tags=tags,
                    metadata=metadata,
                    upload=spool,
                )
            )
        )


async def uploadDocument(
    body: dict[str, Any] | None = None, file: Any = None, **_parts: Any
) -> tuple[dict[str, Any], int]:
    """Upload document."""
    who = caller()
    upload, text = form(body, file, "DocumentUpload")
    doc = await store_upload(who.org_id, auth.actor(who), upload, text)
    return documents.view(doc), 201


async def bulkUploadDocuments(
    body: dict[str, Any] | None = None, files: Any = None, **_parts: Any
) -> dict[str, Any]:
    """Bulk upload: each file stored whole or not at all, one result per file."""
    who = caller()
    fields = {k: v for k, v in (body or {}).items() if not isinstance(v, UploadFile)}
    if not isinstance(files, list) or not all(isinstance(f, UploadFile) for f in files):
        raise invalid("files: at least one file part is required")
    problem = multipart.field_errors(
        {**fields, "files": [""] * len(files)}, _schema("DocumentBulkUpload")
    )
    if problem is not None:
        raise invalid(problem)
    tags = documents.parse_tags(fields.get("tags") or None)
    metadata = documents.parse_metadata(fields.get("metadata") or None)
    results: list[dict[str, Any]] = []
    for upload in files:
        filename = upload.filename or "document"
        try:
            name = documents.check_name(filename)
            with documents.spool() as spool:
                await aio.run_blocking(documents.copy_to_spool, upload.file, spool)
                store = functools.partial(
                    documents.create,
                    who.org_id,
                    auth.actor(who),
                    name=name,
                    content_type=_content_type({}, upload, name),
                    tags=tags,
                    metadata=metadata,
                    upload=spool,
                    source="bulk",
                )
                doc = await aio.run_blocking(with_connection(store))
        except ApiError as exc:
            results.append({"filename": filename, "status": "failed", "error": exc.message})
            continue
        results.append({"filename": filename, "status": "created", "document": documents.view(doc)})
    created = sum(1 for r in results if r["status"] == "created")
    return {"results": results, "created": created, "failed": len(results) - created}


async def createDocumentVersion(
    id_: str, body: dict[str, Any] | None = None, file: Any = None, **_parts: Any
) -> tuple[dict[str, Any], int]:
    """New document version."""
    who = caller()
    await aio.run_blocking(with_connection(documents.find), who.org_id, id_)
    upload, text = form(body, file, "DocumentVersionUpload")
    content_type = (
        documents.check_content_type(text["content_type"]) if "content_type" in text else None
    )
    with documents.spool() as spool:
        await aio.run_blocking(documents.copy_to_spool, upload.file, spool)
        doc = await aio.run_blocking(
            with_connection(
                lambda: documents.add_version(
                    who.org_id,
                    id_,
                    auth.actor(who),
                    name=None,
                    content_type=content_type,
                    upload=spool,
                )
            )
        )
    return documents.view(doc), 201


def createDocumentFromUrl(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Document from URL."""
    who = caller()
    tags = documents.check_tags(body.get("tags", []))
    metadata = documents.check_metadata(body.get("metadata", {}))
    with documents.spool() as spool:
        media, tail = documents.fetch_url(body["url"], spool)
        name = documents.check_name(body.get("name") or tail[:512])
        if body.get("content_type"):
            content_type = documents.check_content_type(body["content_type"])
        else:
            content_type = _guess(media, name)
        doc = documents.create(
            who.org_id,
            auth.actor(who),
            name=name,
            content_type=content_type,
            tags=tags,
            metadata=metadata,
            upload=spool,
            source="url",
        )
    return documents.view(doc), 201


def listDocuments(
    tag: str | None = None,
    content_type: str | None = None,
    created_after: str | None = None,
    created_before: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """List documents."""
    try:
        after = documents.parse_time(created_after)
        before = documents.parse_time(created_before)
    except ValueError as exc:
        raise invalid(str(exc)) from None
    rows, total = documents.page(
        caller().org_id,
        limit=limit,
        offset=offset,
        tag=tag,
        content_type=content_type,
        created_after=after,
        created_before=before,
    )
    return {"documents": [documents.view(d) for d in rows], "total": total}


def getDocumentStorageUsage() -> dict[str, Any]:
    """Storage usage."""
    return documents.storage_usage(caller().org_id)


def getDocument(id_: str) -> dict[str, Any]:
    """Get document."""
    doc = documents.find(caller().org_id, id_)
    return {
        **documents.view(doc),
        "versions": [documents.version_view(v) for v in documents.versions(doc)],
    }


def updateDocument(id_: str, body: dict[str, Any]) -> dict[str, Any]:
    """Update document."""
    who = caller()
    return documents.view(documents.update(who.org_id, id_, auth.actor(who), body))


def deleteDocument(id_: str) -> dict[str, Any]:
    """Delete document."""
    who = caller()
    documents.delete(who.org_id, id_, auth.actor(who))
    return {"id": id_, "deleted": True}


def _disposition(name: str) -> str:
    fallback = "".join(ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\' else "_" for ch in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _chunks(handle: Any, size: int = 1 << 20) -> Iterator[bytes]:
    with handle:
        while data := handle.read(size):
            yield data


def downloadDocument(id_: str, version: int | None = None) -> StreamingResponse:
    """Download document."""
    who = caller()
    row = documents.download(who.org_id, id_, version, auth.actor(who))
    return StreamingResponse(
        _chunks(documents.open_bytes(row)),
        media_type=row.content_type,
        headers={
            "Content-Disposition": _disposition(row.name),
            "Content-Length": str(row.size),
        },
    )


def getDocumentAudit(id_: str) -> dict[str, Any]:
    """Document audit."""
    return {"document_id": id_, "events": documents.audit(caller().org_id, id_)}
