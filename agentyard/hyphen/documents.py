"""Documents: an org's uploaded files, their versions, audit and storage usage.

Bytes go to the content-addressed blob store (`core.blobs`) through a `Spool` (a temporary
file hashed as it grows, capped at the blob store's `max_file_bytes`), never whole in memory;
rows are `document_models`. Ids are `doc_<32 hex>`. A new version keeps the old ones (each
downloadable by number). DELETE is soft (`deleted_at`): the document disappears from the API
at once, and `collect` (a periodic task) removes its rows after `RETENTION`. Blob files are
kept by `collect`: the store is shared and deduplicated, so a blob may be another owner's too.

Storage usage counts the bytes of each distinct digest among the org's stored versions once
(identical content uploaded twice costs once). Events: `document.uploaded`,
`document.version_created`, `document.deleted`, `document.expired` (collected), delivered to
registrations whose `filter` (tags, content_type) the payload passes.

`records(org_id, ref)` reads a `doc:<id>` reference for the matcher: a CSV document (header
row, one object per line) or a JSON document (an array of objects, or an object holding one
array of objects).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

import peewee

from agentyard.core import blobs, clock, jobs, netguard
from agentyard.core.errors import ApiError, invalid
from agentyard.core.store import write
from agentyard.core.tenancy import find_in_tenant
from agentyard.hyphen import webhooks
from agentyard.hyphen.document_models import Document, DocumentAudit, DocumentVersion

PREFIX = "doc_"
ID_SHAPE = re.compile(r"doc_[0-9a-f]{32}")
REF_PREFIX = "doc:"
MAX_TAGS = 50
MAX_TAG_LENGTH = 64
MAX_RECORDS_BYTES = 32 * 1024 * 1024  # the largest document the matcher reads
CONTENT_TYPE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
)
RETENTION = dt.timedelta(hours=24)  # soft-deleted documents are collected after this
WHAT = "document"


def new_id() -> str:
    """`doc_<32 hex>`."""
    return PREFIX + uuid.uuid4().hex


def max_bytes() -> int:
    """The largest document (one version) the server takes."""
    return blobs.config().max_file_bytes


# The bodies carrying a file: streamed by their handlers, not buffered by the request guard.
UPLOAD_PATH_PATTERN = r"/documents(/[^/]+/versions)?"
BULK_PATH_PATTERN = r"/documents/bulk-upload"
MULTIPART_OVERHEAD = 1024 * 1024  # the form's other fields and part headers


def max_upload_bytes() -> int:
    """The largest upload body: one file plus its form fields."""
    return max_bytes() + MULTIPART_OVERHEAD


def max_bulk_bytes() -> int:
    """The largest bulk upload body (the blob store's archive maximum)."""
    return blobs.config().max_archive_bytes


def spool() -> blobs.Spool:
    """A spool for one upload (use it as a context manager)."""
    return blobs.Spool(max_bytes())


def copy_to_spool(source: BinaryIO, target: blobs.Spool, chunk: int = 1 << 20) -> None:
    """Copy a file object into `target` by chunks; 413 past `max_bytes()`."""
    try:
        while data := source.read(chunk):
            target.write(data)
    except blobs.TooLargeError:
        raise ApiError(
            413, "payload_too_large", f"the document is larger than {max_bytes()} bytes"
        ) from None


# --- input checks -----------------------------------------------------------------------------


def check_name(name: object) -> str:
    """A document name: 1..512 characters (shown to downloads through a sanitised
    `Content-Disposition`)."""
    if not isinstance(name, str) or not name or len(name) > 512:
        raise invalid("name must be 1 to 512 characters")
    if "\x00" in name:
        raise invalid("name must not contain U+0000")
    return name


def check_content_type(value: object) -> str:
    """A `type/subtype` media type (parameters dropped), lower-cased."""
    text = value.split(";", 1)[0].strip() if isinstance(value, str) else ""
    if not CONTENT_TYPE.fullmatch(text):
        raise invalid("content_type must be a media type such as text/csv")
    return text.lower()


def check_tags(tags: object) -> list[str]:
    """At most 50 tags of 1..64 characters; duplicates dropped, order kept."""
    if not isinstance(tags, list) or len(tags) > MAX_TAGS:
        raise invalid(f"tags must be a list of at most {MAX_TAGS} strings")
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag or len(tag) > MAX_TAG_LENGTH:
            raise invalid(f"each tag must be 1 to {MAX_TAG_LENGTH} characters")
        if tag not in out:
            out.append(tag)
    return out


def parse_tags(text: str | None) -> list[str]:
    """Tags from a form field: comma-separated (blanks around commas and empty ones
    ignored)."""
    if text is None:
        return []
    return check_tags([t.strip() for t in text.split(",") if t.strip()])


def check_metadata(value: object) -> dict[str, Any]:
    """A JSON object (its size is capped by the body or form field limit)."""
    if not isinstance(value, dict):
        raise invalid("metadata must be a JSON object")
    return value


def parse_metadata(text: str | None) -> dict[str, Any]:
    """Metadata from a form field: the text of a JSON object."""
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise invalid("metadata must be the text of a JSON object") from None
    return check_metadata(value)


# --- views ------------------------------------------------------------------------------------


def view(doc: Document) -> dict[str, Any]:
    """A document as the API shows it."""
    return {
        "id": doc.id,
        "name": doc.name,
        "content_type": doc.content_type,
        "size": doc.size,
        "sha256": doc.digest,
        "tags": list(doc.tags),
        "metadata": dict(doc.metadata),
        "version": doc.version,
        "created_at": clock.iso(doc.created_at),
        "updated_at": clock.iso(doc.updated_at),
    }


def version_view(row: DocumentVersion) -> dict[str, Any]:
    return {
        "version": row.number,
        "name": row.name,
        "content_type": row.content_type,
        "size": row.size,
        "sha256": row.digest,
        "created_at": clock.iso(row.created_at),
    }


def _event_payload(doc: Document) -> dict[str, Any]:
    return {
        "document_id": doc.id,
        "name": doc.name,
        "content_type": doc.content_type,
        "tags": list(doc.tags),
        "size": doc.size,
        "version": doc.version,
    }


def _audit(doc_id: str, action: str, actor: str, details: Mapping[str, Any]) -> None:
    DocumentAudit.create(
        document=doc_id, action=action, actor=actor, details=dict(details), at=clock.now()
    )


# --- fetching a URL (POST /documents/from-url) -------------------------------------------------

FROM_URL_MAX_BYTES = 32 * 1024 * 1024  # read into memory by the guard: kept well under the file max
FROM_URL_TIMEOUT = 30.0


def from_url_max_bytes() -> int:
    return min(FROM_URL_MAX_BYTES, max_bytes())


def fetch_url(url: str, target: blobs.Spool) -> tuple[str | None, str]:
    """GET `url` through the SSRF guard (`core.netguard`: public addresses only unless
    `AGENTYARD_BLOB_FETCH_ALLOW_PRIVATE` allows the host, no redirects, at most
    `from_url_max_bytes()` within `FROM_URL_TIMEOUT` seconds) into `target`; the answer's
    media type (None if absent) and the file name the URL's path ends with. A refused or
    failed fetch is a 400, a body too large a 413."""
    cap = from_url_max_bytes()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise invalid("url must be an http or https URL")
    try:
        reply = netguard.request(
            "GET",
            url,
            allow_private=blobs.config().fetch_allow_private,
            require_https=False,
            timeout=FROM_URL_TIMEOUT,
            max_body=cap + 1,
        )
    except netguard.RefusedURLError as exc:
        raise invalid(f"url refused: {exc}", code="url_refused") from None
    except Exception as exc:  # OSError, TimeoutError, http.client.HTTPException, ssl errors
        raise invalid(f"fetching the URL failed: {exc}", code="fetch_failed") from None
    if reply.status != 200:
        raise invalid(f"fetching the URL answered HTTP {reply.status}", code="fetch_failed")
    if len(reply.body) > cap:
        raise ApiError(413, "payload_too_large", f"the URL holds more than {cap} bytes")
    target.write(reply.body)
    media = {k.lower(): v for k, v in reply.headers.items()}.get("content-type")
    tail = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1]) if parts.path else ""
    return media, tail or parts.hostname or "document"


# --- writes -----------------------------------------------------------------------------------


def create(
    org_id: str,
    actor: str,
    *,
    name: str,
    content_type: str,
    tags: Sequence[str],
    metadata: Mapping[str, Any],
    upload: blobs.Spool,
    source: str = "upload",
) -> Document:
    """Store what `upload` received as a new document (version 1); `document.uploaded`."""
    digest = blobs.store().put_spool(upload)
    now = clock.now()
    with write():
        doc = Document.create(
            id=new_id(),
            org=org_id,
            name=name,
            content_type=content_type,
            tags=list(tags),
            metadata=dict(metadata),
            version=1,
            digest=digest,
            size=upload.size,
            created_at=now,
            updated_at=now,
        )
        DocumentVersion.create(
            document=doc.id,
            number=1,
            name=name,
            content_type=content_type,
            digest=digest,
            size=upload.size,
            created_at=now,
        )
        _audit(doc.id, "uploaded", actor, {"version": 1, "size": upload.size, "source": source})
    webhooks.emit(org_id, "document.uploaded", _event_payload(doc))
    return doc


def add_version(
    org_id: str,
    doc_id: str,
    actor: str,
    *,
    name: str | None,
    content_type: str | None,
    upload: blobs.Spool,
) -> Document:
    """Store `upload` as the document's next version (earlier ones kept);
    `document.version_created`."""
    find(org_id, doc_id)  # 404 before storing anything
    digest = blobs.store().put_spool(upload)
    with write():
        doc = find(org_id, doc_id, lock=True)
        number = (
            DocumentVersion.select(peewee.fn.MAX(DocumentVersion.number))
            .where(DocumentVersion.document == doc.id)
            .scalar()
            or 0
        ) + 1
        now = clock.now()
        doc.name = name or doc.name
        doc.content_type = content_type or doc.content_type
        doc.version, doc.digest, doc.size, doc.updated_at = number, digest, upload.size, now
        doc.save()
        DocumentVersion.create(
            document=doc.id,
            number=number,
            name=doc.name,
            content_type=doc.content_type,
            digest=digest,
            size=upload.size,
            created_at=now,
        )
        _audit(doc.id, "version_created", actor, {"version": number, "size": upload.size})
    webhooks.emit(org_id, "document.version_created", _event_payload(doc))
    return doc


def update(org_id: str, doc_id: str, actor: str, changes: Mapping[str, Any]) -> Document:
    """Change the `name`, `tags` and/or `metadata` given."""
    fields: dict[str, Any] = {}
    if "name" in changes:
        fields["name"] = check_name(changes["name"])
    if "tags" in changes:
        fields["tags"] = check_tags(changes["tags"])
    if "metadata" in changes:
        fields["metadata"] = check_metadata(changes["metadata"])
    with write():
        doc = find(org_id, doc_id, lock=True)
        for key, value in fields.items():
            setattr(doc, key, value)
        doc.updated_at = clock.now()
        doc.save()
        _audit(doc.id, "updated", actor, {"fields": sorted(fields)})
    return doc


def delete(org_id: str, doc_id: str, actor: str) -> None:
    """Soft-delete: hidden at once, collected after `RETENTION`; `document.deleted`."""
    with write():
        doc = find(org_id, doc_id, lock=True)
        doc.deleted_at = clock.now()
        doc.save()
        _audit(doc.id, "deleted", actor, {})
    webhooks.emit(org_id, "document.deleted", _event_payload(doc))


def collect(
    now: dt.datetime | None = None, *, blob_grace_seconds: float = blobs.COLLECT_GRACE_SECONDS
) -> int:
    """Remove the rows of documents soft-deleted more than `RETENTION` ago, each with a
    `document.expired` event, then the blobs of their versions that nothing else (another
    document, another org, another product) references; how many documents."""
    cutoff = (now or clock.now()) - RETENTION
    gone = list(
        Document.select().where(Document.deleted_at.is_null(False) & (Document.deleted_at < cutoff))
    )
    digests: set[str] = set()
    for doc in gone:
        with write():
            digests.update(v.digest for v in versions(doc))
            DocumentAudit.delete().where(DocumentAudit.document == doc.id).execute()
            DocumentVersion.delete().where(DocumentVersion.document == doc.id).execute()
            Document.delete().where(Document.id == doc.id).execute()
        webhooks.emit(doc.org_id, "document.expired", _event_payload(doc))
    blobs.collect(digests, blob_grace_seconds)
    return len(gone)


@jobs.periodic_task(lambda when: when.minute % 10 == 0, name="hyphen.documents_collect")
def _collect_periodically() -> None:
    collect()


# --- reads ------------------------------------------------------------------------------------


def find(org_id: str, doc_id: str, *, lock: bool = False) -> Document:
    """The org's live document `doc_id`; 404 otherwise (another org's, deleted, malformed)."""
    del lock  # the write transaction serialises writers on both backends
    return find_in_tenant(
        Document,
        doc_id,
        org_id,
        what=WHAT,
        tenant_field="org",
        where=Document.deleted_at.is_null(),
    )


def page(
    org_id: str,
    *,
    limit: int,
    offset: int,
    tag: str | None = None,
    content_type: str | None = None,
    created_after: dt.datetime | None = None,
    created_before: dt.datetime | None = None,
    within: peewee.SelectQuery | None = None,
) -> tuple[list[Document], int]:
    """The org's live documents, newest first, filtered (`within`: a query of the document ids
    to keep); and how many match."""
    where = (Document.org == org_id) & Document.deleted_at.is_null()
    if within is not None:
        where &= Document.id.in_(within)
    if content_type:
        where &= Document.content_type == content_type.lower()
    if created_after is not None:
        where &= Document.created_at >= created_after
    if created_before is not None:
        where &= Document.created_at < created_before
    query = Document.select().where(where).order_by(Document.created_at.desc(), Document.id)
    if tag:
        # tags are a JSON list: filter in Python, portable across SQLite and PostgreSQL
        matching = [d for d in query if tag in d.tags]
        return matching[offset : offset + limit], len(matching)
    return list(query.limit(limit).offset(offset)), query.count()


def versions(doc: Document) -> list[DocumentVersion]:
    return list(
        DocumentVersion.select()
        .where(DocumentVersion.document == doc.id)
        .order_by(DocumentVersion.number)
    )


def version(doc: Document, number: int | None) -> DocumentVersion:
    """Version `number` of `doc` (None: the current one); 404 when it has none such."""
    wanted = doc.version if number is None else number
    row = DocumentVersion.get_or_none(
        (DocumentVersion.document == doc.id) & (DocumentVersion.number == wanted)
    )
    if row is None:
        raise ApiError(404, "not_found", f"Document {doc.id} has no version {wanted}")
    return row


def audit(org_id: str, doc_id: str) -> list[dict[str, Any]]:
    """Every action on the org's live document, oldest first."""
    return audit_rows(find(org_id, doc_id).id)


def audit_rows(doc_id: str) -> list[dict[str, Any]]:
    """Every action recorded on a document (live, deleted or not), oldest first."""
    rows = DocumentAudit.select().where(DocumentAudit.document == doc_id).order_by(DocumentAudit.id)
    return [
        {"action": r.action, "actor": r.actor, "details": dict(r.details), "at": clock.iso(r.at)}
        for r in rows
    ]


def storage_usage(org_id: str) -> dict[str, Any]:
    """The org's stored bytes, each distinct content counted once, and the counts behind it."""
    rows = list(
        DocumentVersion.select(DocumentVersion.digest, DocumentVersion.size)
        .join(Document)
        .where(Document.org == org_id)
    )
    distinct = {r.digest: r.size for r in rows}
    documents = (
        Document.select().where((Document.org == org_id) & Document.deleted_at.is_null()).count()
    )
    return {
        "total_bytes": sum(distinct.values()),
        "logical_bytes": sum(r.size for r in rows),
        "documents": documents,
        "versions": len(rows),
        "distinct_blobs": len(distinct),
    }


def download(org_id: str, doc_id: str, number: int | None, actor: str) -> DocumentVersion:
    """The version to download (recorded in the audit as `downloaded`)."""
    with write():
        doc = find(org_id, doc_id)
        row = version(doc, number)
        _audit(doc.id, "downloaded", actor, {"version": row.number})
    return row


def parse_time(value: str | None) -> dt.datetime | None:
    """An RFC 3339 query value as naive UTC (None when absent); ValueError when malformed."""
    return None if value is None else clock.parse(value)


def open_bytes(row: DocumentVersion) -> BinaryIO:
    """The stored bytes of a version, as a file to stream."""
    return blobs.store().open(row.digest)


# --- the matcher's `doc:` references ----------------------------------------------------------


class RecordsError(ValueError):
    """A `doc:` reference the matcher cannot read as records."""


def records(org_id: str, ref: str) -> list[dict[str, Any]]:
    """The records of `doc:<id>`: CSV (header row) or JSON (array of objects, or an object
    with exactly one array of objects); `RecordsError` otherwise."""
    doc_id = ref[len(REF_PREFIX) :] if ref.startswith(REF_PREFIX) else ref
    doc = Document.get_or_none(
        (Document.id == doc_id) & (Document.org == org_id) & Document.deleted_at.is_null()
    )
    if doc is None:
        raise RecordsError(f"no document {doc_id}")
    if doc.size > MAX_RECORDS_BYTES:
        raise RecordsError(f"document {doc_id} is larger than {MAX_RECORDS_BYTES} bytes")
    data = blobs.store().get(doc.digest)
    kind = doc.content_type
    lowered = doc.name.lower()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RecordsError(f"document {doc_id} is not UTF-8 text") from None
    if "json" in kind or lowered.endswith(".json"):
        return _json_records(doc_id, text)
    if "csv" in kind or lowered.endswith(".csv"):
        return [dict(row) for row in csv.DictReader(io.StringIO(text))]
    raise RecordsError(f"document {doc_id} is neither CSV nor JSON ({kind})")


def _json_records(doc_id: str, text: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(text)
    except ValueError:
        raise RecordsError(f"document {doc_id} is not valid JSON") from None
    if isinstance(value, dict):
        arrays = [v for v in value.values() if isinstance(v, list)]
        if len(arrays) != 1:
            raise RecordsError(f"document {doc_id}: a JSON object must hold exactly one array")
        value = arrays[0]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise RecordsError(f"document {doc_id}: expected an array of objects")
    return value
