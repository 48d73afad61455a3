"""/api/internal/entities/{entity_id}/records: list (filter, sort, cursor) and record CRUD
with ETags and `If-Match`."""

from __future__ import annotations

from typing import Any

from connexion import request

from agentyard.hasp import envelope
from agentyard.hasp.studio import records
from agentyard.hasp.studio.entity_fields import Field
from agentyard.hasp.studio.entity_models import StudioEntity, StudioRecord
from generated.hasp_studio.models import RecordWrite
from handlers.hasp_studio.security import current_member

Answer = tuple[dict[str, Any], int, dict[str, str]]


def _one(found: tuple[StudioRecord, StudioEntity, list[Field]], status: int = 200) -> Answer:
    record, entity, fields = found
    body = envelope.ok(records.view(record, entity, fields))
    return body, status, {"ETag": records.etag(record)}


def _if_match() -> str | None:
    return request.headers.get("If-Match")


def list_records(
    entity_id: str,
    filter_: str | None = None,
    sort: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    rows, entity, fields, next_cursor, more = records.list_page(
        current_member(), entity_id, filter_, sort, cursor, limit
    )
    return envelope.page([records.view(r, entity, fields) for r in rows], next_cursor, more)


def create_record(entity_id: str, body: dict[str, Any]) -> Answer:
    data = RecordWrite.model_validate(body).data
    return _one(records.create(current_member(), entity_id, data), 201)


def get_record(entity_id: str, record_id: str) -> Answer:
    return _one(records.get(current_member(), entity_id, record_id))


def update_record(entity_id: str, record_id: str, body: dict[str, Any]) -> Answer:
    data = RecordWrite.model_validate(body).data
    return _one(records.update(current_member(), entity_id, record_id, data, _if_match()))


def delete_record(entity_id: str, record_id: str) -> Answer:
    return _one(records.delete(current_member(), entity_id, record_id, _if_match()))
