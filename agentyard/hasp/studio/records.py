"""Records of an entity: CRUD validated against the schema, lists filtered and sorted in SQL,
optimistic concurrency, webhook events and the record-change hooks.

Versions: a record starts at version 1 and every change adds one; its ETag is `"<version>"`.
`If-Match` on PATCH/DELETE is optional (without it the write is unconditional); a value that
names another version → 412 `PRECONDITION_FAILED`; `*` matches any.

Events (to the entity's app webhooks, see `entities`): `record.created|updated|deleted` with
`{entity_id, entity_key, project_id, record_id, version, record, changed, actor}`; `phi` fields'
values are `[REDACTED]` there and in the audit (`before`/`after`). After the change is
committed it is reported to `record_port.changed` (values in clear: its listeners run inside
the server), which starts the project's record-change workflows and notifies its outbound
project webhooks.

Writers: a member (the API, the palette: role checked, audited as the member) or another actor
of the org (`Author`, e.g. a workflow run acting through `record_steps`), whose changes are
audited, announced and reported with that actor (`Actor("workflow", run_id)`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from agentyard.core import clock, ids
from agentyard.core.errors import ApiError, not_found
from agentyard.core.keys import Tenant
from agentyard.core.store import is_sqlite, write
from agentyard.hasp.studio import (
    audit,
    entities,
    palette,
    palette_sources,  # noqa: F401  (declares the commands this module provides)
    projects,
    record_keys,
    record_port,
    record_query,
)
from agentyard.hasp.studio.entity_fields import Field, FieldError, coerce, redact, rejected
from agentyard.hasp.studio.entity_models import StudioEntity, StudioRecord
from agentyard.hasp.studio.member import Member

log = logging.getLogger("agentyard.hasp.studio.records")


@dataclass(frozen=True)
class Author:
    """Who writes records: the org, the actor reported with the change, and the member when a
    member writes (the audit names them; otherwise it names the actor)."""

    org: Tenant
    actor: record_port.Actor
    member: Member | None = None

    @classmethod
    def of(cls, member: Member) -> Author:
        return cls(member.org, record_port.Actor("user", member.user_id), member)

    @property
    def id(self) -> str | None:
        """What `created_by`/`updated_by` keep: the user id or the acting run's id."""
        return self.actor.id


def _report(change: record_port.RecordChange) -> None:
    """Tell the record port's listeners; never fails the write that already happened."""
    try:
        record_port.changed(change)
    except Exception:
        log.exception("record-change listeners failed for %s", change.record_id)


def etag(record: StudioRecord) -> str:
    return f'"{record.version}"'


def display(fields: Sequence[Field], entity: StudioEntity, data: Mapping[str, Any]) -> str:
    phi = {f.name for f in fields if f.phi}
    parts = [
        "[REDACTED]" if name in phi else str(data[name])
        for name in entity.display_fields
        if data.get(name) is not None
    ]
    return " ".join(parts)


def view(record: StudioRecord, entity: StudioEntity, fields: Sequence[Field]) -> dict[str, Any]:
    data = record.data or {}
    return {
        "id": record.id,
        "entity_id": record.entity_id,
        "data": {f.name: data.get(f.name) for f in fields},
        "display": display(fields, entity, data),
        "version": record.version,
        "created_by": record.created_by,
        "updated_by": record.updated_by,
        "created_at": clock.iso(record.created_at),
        "updated_at": clock.iso(record.updated_at),
    }


def check_if_match(record: StudioRecord, if_match: str | None) -> None:
    """412 when `If-Match` is given and names no current version of `record`."""
    if if_match is None:
        return
    tags = [t.strip() for t in if_match.split(",")]
    if "*" in tags:
        return
    current = etag(record)
    if not any(t.removeprefix("W/") == current for t in tags):
        raise ApiError(
            412,
            "PRECONDITION_FAILED",
            f"If-Match does not name the record's current version {current}",
            {"current_etag": current, "version": record.version},
        )


def _validate(
    entity: StudioEntity, fields: Sequence[Field], values: Mapping[str, Any], whole: bool
) -> dict[str, Any]:
    """The stored form of `values` (a whole record: defaults filled, required checked)."""
    known = {f.name: f for f in fields}
    for name in values:
        if name not in known:
            raise ApiError(
                422, "VALIDATION_FAILED", f"{name} is not a field of {entity.key}",
                {"param": f"data.{name}"},
            )  # fmt: skip
    out: dict[str, Any] = {}
    try:
        for name, value in values.items():
            out[name] = coerce(known[name], value)
    except FieldError as exc:
        raise rejected(exc) from None
    if whole:
        for f in fields:
            if out.get(f.name) is None and f.default is not None and f.name not in values:
                out[f.name] = f.default
    return out


def _check_rules(
    entity: StudioEntity, fields: Sequence[Field], data: Mapping[str, Any], own_id: str | None
) -> None:
    """Required fields, unique values and references (inside the entity's write lock)."""
    for f in fields:
        value = data.get(f.name)
        if value is None:
            if f.required:
                raise rejected(FieldError(f.name, f"{f.name} is required"))
            continue
        if f.unique:
            query = StudioRecord.select(StudioRecord.id).where(
                (StudioRecord.entity == entity.id)
                & (record_query.value_expr(f) == record_query._sql_value(f, value))
            )
            if own_id:
                query = query.where(StudioRecord.id != own_id)
            if query.exists():
                raise ApiError(
                    409, "UNIQUE_VIOLATION", f"{f.name} must be unique: another record has it",
                    {"param": f"data.{f.name}"},
                )  # fmt: skip
        if f.type == "reference":
            target = StudioEntity.get_or_none(
                (StudioEntity.project == entity.project_id) & (StudioEntity.key == f.reference)
            )
            found = (
                target is not None
                and StudioRecord.select()
                .where((StudioRecord.id == value) & (StudioRecord.entity == target.id))
                .exists()
            )
            if not found:
                raise rejected(FieldError(f.name, f"{f.name}: no {f.reference} record {value}"))


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)))


def _publish(
    author: Author,
    entity: StudioEntity,
    fields: Sequence[Field],
    event: str,
    record: StudioRecord,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> record_port.RecordChange:
    """Audit (phi redacted) and queue the webhook event, inside the write transaction."""
    changed = _changed(before or {}, after or {})
    actor = {"type": author.actor.type, "id": author.actor.id}
    extra: dict[str, Any] = {} if author.member is not None else {"actor": actor}
    audit.record(
        author.member, event, "record", record.id, org=author.org, project_id=entity.project_id,
        before=redact(fields, before), after=redact(fields, after),
        record_entity_id=entity.id, version=record.version, **extra,
    )  # fmt: skip
    entities.announce(entity, event, {
        "entity_id": entity.id, "entity_key": entity.key, "project_id": entity.project_id,
        "record_id": record.id, "version": record.version,
        "record": redact(fields, after if after is not None else before),
        "before": redact(fields, before) if event == "record.updated" else None,
        "changed": list(changed), "actor": actor,
    })  # fmt: skip
    return record_port.RecordChange(
        org_id=str(author.org.id), project_id=entity.project_id, entity_id=entity.id,
        entity_name=entity.key, event=event.removeprefix("record."), record_id=record.id,
        fields=changed, before=before, after=after, actor=author.actor,
    )  # fmt: skip


def locked(entity_id: str) -> StudioEntity:
    """The entity, inside `write()` serializing writers of its records (a row lock on
    PostgreSQL); for writers whose access was checked otherwise (`Author` without member)."""
    query = StudioEntity.select().where(StudioEntity.id == entity_id)
    if not is_sqlite():
        query = query.for_update()
    entity = query.first()
    if entity is None:
        raise not_found("entity", entity_id)
    return entity


Written = tuple[StudioRecord, StudioEntity, list[Field]]


def create(member: Member, entity_id: str, values: Mapping[str, Any]) -> Written:
    """A new record (project builder; not archived)."""
    entity = entities.find(member, entity_id, "builder")
    projects.writable(entity.project)
    lock = partial(entities.find, member, entity_id, "builder", lock=True)
    return _create(Author.of(member), lock, values, None)


def create_as(
    author: Author, entity: StudioEntity, values: Mapping[str, Any], key: str | None = None
) -> Written:
    """A new record of `entity` written by `author` (access checked by the caller; not
    archived). With `key`, a retried create answers the record the first one made."""
    projects.writable(entity.project)
    return _create(author, partial(locked, entity.id), values, key)


def _create(
    author: Author,
    lock: Callable[[], StudioEntity],
    values: Mapping[str, Any],
    key: str | None,
) -> Written:
    with write():
        entity = lock()
        fields = entities.fields_of(entity)
        if key is not None:
            done = record_keys.created(str(author.org.id), key)
            if done is not None:
                return _find(entity, done), entity, fields
        data = _validate(entity, fields, values, whole=True)
        _check_rules(entity, fields, data, None)
        now = clock.now()
        record = StudioRecord.create(
            id=ids.new_id("rec"), entity=entity.id, data=data, version=1,
            created_by=author.id, updated_by=author.id, created_at=now, updated_at=now,
        )  # fmt: skip
        if key is not None:
            record_keys.remember(str(author.org.id), key, record.id)
        change = _publish(author, entity, fields, "record.created", record, None, data)
    _report(change)
    return record, entity, fields


def _find(entity: StudioEntity, record_id: str) -> StudioRecord:
    record = StudioRecord.get_or_none(
        (StudioRecord.id == record_id) & (StudioRecord.entity == entity.id)
    )
    if record is None:
        raise not_found("record", record_id)
    return record


def get(
    member: Member, entity_id: str, record_id: str
) -> tuple[StudioRecord, StudioEntity, list[Field]]:
    entity = entities.find(member, entity_id, "viewer")
    return _find(entity, record_id), entity, entities.fields_of(entity)


def update(
    member: Member, entity_id: str, record_id: str, values: Mapping[str, Any], if_match: str | None
) -> Written:
    """Set the fields `values` names (null clears one); 412 on a stale `If-Match`."""
    entity = entities.find(member, entity_id, "builder")
    projects.writable(entity.project)
    lock = partial(entities.find, member, entity_id, "builder", lock=True)
    return _update(Author.of(member), lock, record_id, values, if_match)


def update_as(
    author: Author, entity: StudioEntity, record_id: str, values: Mapping[str, Any]
) -> Written:
    """Set fields of a record of `entity` as `author` (access checked by the caller)."""
    projects.writable(entity.project)
    return _update(author, partial(locked, entity.id), record_id, values, None)


def _update(
    author: Author,
    lock: Callable[[], StudioEntity],
    record_id: str,
    values: Mapping[str, Any],
    if_match: str | None,
) -> Written:
    with write():
        entity = lock()
        fields = entities.fields_of(entity)
        record = _find(entity, record_id)
        check_if_match(record, if_match)
        changes = _validate(entity, fields, values, whole=False)
        before = dict(record.data or {})
        after = {k: v for k, v in {**before, **changes}.items() if v is not None}
        _check_rules(entity, fields, after, record.id)
        record.data, record.version = after, record.version + 1
        record.updated_by, record.updated_at = author.id, clock.now()
        record.save()
        change = _publish(author, entity, fields, "record.updated", record, before, after)
    _report(change)
    return record, entity, fields


def delete(
    member: Member, entity_id: str, record_id: str, if_match: str | None
) -> tuple[StudioRecord, StudioEntity, list[Field]]:
    """Delete the record (project builder); 412 on a stale `If-Match`."""
    entity = entities.find(member, entity_id, "builder")
    projects.writable(entity.project)
    with write():
        entity = entities.find(member, entity_id, "builder", lock=True)
        fields = entities.fields_of(entity)
        record = _find(entity, record_id)
        check_if_match(record, if_match)
        StudioRecord.delete().where(StudioRecord.id == record.id).execute()
        change = _publish(
            Author.of(member), entity, fields, "record.deleted", record, record.data, None
        )
    _report(change)
    return record, entity, fields


def list_page(
    member: Member,
    entity_id: str,
    filter_text: str | None,
    sort_text: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[StudioRecord], StudioEntity, list[Field], str | None, bool]:
    """A page of the entity's records matching `filter`, ordered by `sort`."""
    entity = entities.find(member, entity_id, "viewer")
    fields = entities.fields_of(entity)
    conditions = record_query.parse_filter(filter_text, fields)
    sort = record_query.parse_sort(sort_text, fields)
    rows, next_cursor, more = _page(entity, fields, conditions, sort, cursor, limit)
    return rows, entity, fields, next_cursor, more


def matching(entity: StudioEntity, where: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """The records of `entity` whose fields (or `id`) equal `where`'s values (None: has no
    value; a json field takes only None), newest first, at most `limit`, as `view` shows
    them; 422 for a field it does not have or a value its type refuses."""
    fields = entities.fields_of(entity)
    known = {f.name: f for f in fields}
    conditions = []
    for name, value in where.items():
        if name == "id":
            conditions.append(record_query.Condition(name, "eq", str(value)))
            continue
        if name not in known:
            raise record_query.bad(f"where: {name!r} is not a field of {entity.key}", "where")
        if value is None:
            conditions.append(record_query.Condition(name, "null", True))
            continue
        if known[name].type == "json":
            raise record_query.bad(f"where: {name} is a json field (only null applies)", "where")
        try:
            value = coerce(known[name], value)
        except FieldError as exc:
            raise record_query.bad(f"where: {exc.message}", "where") from None
        conditions.append(record_query.Condition(name, "eq", value))
    sort = record_query.parse_sort(None, fields)
    rows, _, _ = _page(entity, fields, conditions, sort, None, limit)
    return [view(row, entity, fields) for row in rows]


def _page(
    entity: StudioEntity,
    fields: Sequence[Field],
    conditions: Sequence[record_query.Condition],
    sort: record_query.Sort,
    cursor: str | None,
    limit: int,
) -> tuple[list[StudioRecord], str | None, bool]:
    query = StudioRecord.select().where(StudioRecord.entity == entity.id)
    for condition in record_query.where(conditions, fields):
        query = query.where(condition)
    if cursor:
        query = query.where(record_query.after(cursor, sort, fields))
    rows = list(query.order_by(*record_query.order(sort, fields)).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = record_query.encode_cursor(sort, rows[-1]) if more and rows else None
    return rows, next_cursor, more


def insert_many(entity: StudioEntity, rows: Sequence[Mapping[str, Any]], actor: str) -> int:
    """Insert already-valid rows directly (set-up for benchmarks and seeding: no events)."""
    fields = entities.fields_of(entity)
    now = clock.now()
    batch = []
    for values in rows:
        data = _validate(entity, fields, values, whole=True)
        batch.append({
            "id": ids.new_id("rec"), "entity": entity.id, "data": data,
            "version": 1, "created_by": actor, "updated_by": actor,
            "created_at": now, "updated_at": now,
        })  # fmt: skip
    with write():
        StudioRecord.insert_many(batch).execute()
    return len(batch)


def _palette_create(member: Member, args: dict[str, Any]) -> dict[str, Any]:
    """The palette's `record.create`: the same rules as `POST /entities/{id}/records`."""
    record, entity, fields = create(member, str(args["entity_id"]), args["values"])
    return view(record, entity, fields)


palette.provide("record.create", _palette_create)
