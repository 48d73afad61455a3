"""Entities: typed schemas of a project; creating, changing (migrating records) and deleting.

A schema change (`PATCH` with `fields`) is planned over every existing record before anything
is written: each record's values are carried to the new definition (`renames` moves a field's
values to its new name; an added field takes its `default`; a widened type converts: integer
→ number, date → datetime, scalar → string/text, anything → json). What cannot be carried is
refused with 409 `SCHEMA_CONFLICT` listing every break with its count
(`details.breaks[] = {field, problem, records}`): a new required field without a default
over existing records, values the new type or options refuse, `unique` over duplicates, a
removed field that still holds values (unless `drop_fields: true`). Otherwise the records are
rewritten in the same transaction, the schema version grows, `schema.updated` goes to the
entity's app webhooks and the change is audited.

Events go to the webhook endpoints registered through the HASP AI `/v1/webhooks` for the
entity's `app_id`, or, when the entity has none, for its project id (`prj_…`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

import peewee

from agentyard.core import clock, ids, paging
from agentyard.core.errors import ApiError, not_found
from agentyard.core.store import is_sqlite, write
from agentyard.hasp import cursors, webhook_fanout
from agentyard.hasp.studio import audit, projects, roles
from agentyard.hasp.studio.entity_fields import Field, FieldError, convert, from_stored, parse
from agentyard.hasp.studio.entity_models import StudioEntity, StudioRecord
from agentyard.hasp.studio.errors import conflict
from agentyard.hasp.studio.member import Member


def fields_of(entity: StudioEntity) -> list[Field]:
    return from_stored(entity.fields)


def app_of(entity: StudioEntity) -> str:
    """The app id whose webhook endpoints receive this entity's events."""
    return str(entity.app_id or entity.project_id)


def view(entity: StudioEntity, record_count: int | None = None) -> dict[str, Any]:
    out = {
        "id": entity.id,
        "project_id": entity.project_id,
        "key": entity.key,
        "name": entity.name,
        "description": entity.description,
        "app_id": entity.app_id,
        "events_app_id": app_of(entity),
        "display_fields": list(entity.display_fields),
        "fields": [f.view() for f in fields_of(entity)],
        "schema_version": entity.schema_version,
        "created_by": entity.created_by,
        "created_at": clock.iso(entity.created_at),
        "updated_at": clock.iso(entity.updated_at),
    }
    if record_count is not None:
        out["record_count"] = record_count
    return out


def count_records(entity: StudioEntity) -> int:
    return int(StudioRecord.select().where(StudioRecord.entity == entity.id).count())


def _invalid(message: str, param: str) -> ApiError:
    return ApiError(422, "VALIDATION_FAILED", message, {"param": param})


def _project_keys(project_id: str) -> set[str]:
    return {e.key for e in StudioEntity.select(StudioEntity.key).where(
        StudioEntity.project == project_id
    )}  # fmt: skip


def _parse_fields(raw: list[Mapping[str, Any]], keys: set[str]) -> list[Field]:
    try:
        return parse(raw, keys)
    except FieldError as exc:
        raise _invalid(exc.message, exc.field) from None


def _display(raw: list[str] | None, fields: list[Field]) -> list[str]:
    names = {f.name for f in fields}
    if raw is None:
        first = next((f.name for f in fields if f.type in ("string", "enum")), fields[0].name)
        return [first]
    for i, name in enumerate(raw):
        if name not in names:
            raise _invalid(f"display_fields[{i}] {name!r} is not a field", f"display_fields[{i}]")
    return list(dict.fromkeys(raw))


def announce(entity: StudioEntity, event: str, data: dict[str, Any]) -> int:
    """Queue `event` to the endpoints of the entity's app (inside the caller's transaction)."""
    return webhook_fanout.deliver(entity.tenant, event, data, app_id=app_of(entity))


def create(member: Member, project_id: str, body: Mapping[str, Any]) -> StudioEntity:
    """A new entity of the project (project builder; not archived)."""
    project, _ = roles.find_project(member, project_id, "builder")
    projects.writable(project)
    key = body["key"]
    with write():
        keys = _project_keys(project.id)
        if key in keys:
            raise conflict(f"The project already has an entity {key!r}")
        fields = _parse_fields(body["fields"], keys | {key})
        now = clock.now()
        try:
            with StudioEntity._meta.database.atomic():
                entity = StudioEntity.create(
                    id=ids.new_id("ent"),
                    tenant=member.org_id,
                    project=project.id,
                    key=key,
                    name=body["name"].strip() or key,
                    description=body.get("description") or "",
                    app_id=body.get("app_id"),
                    fields=[f.view() for f in fields],
                    display_fields=_display(body.get("display_fields"), fields),
                    created_by=member.user_id,
                    created_at=now,
                    updated_at=now,
                )
        except peewee.IntegrityError:
            raise conflict(f"The project already has an entity {key!r}") from None
        after = view(entity)
        audit.record(
            member, "entity.created", "entity", entity.id, project_id=project.id, after=after
        )
        announce(entity, "schema.updated", {
            "entity_id": entity.id, "entity_key": entity.key, "project_id": project.id,
            "change": "created", "schema_version": 1, "fields": after["fields"],
        })  # fmt: skip
    return entity


def list_page(
    member: Member, project_id: str, cursor: str | None, limit: int
) -> tuple[list[StudioEntity], str | None, bool]:
    project, _ = roles.find_project(member, project_id, "viewer")
    query = StudioEntity.select().where(StudioEntity.project == project.id)
    rows, nxt, more = paging.newest_first(
        query, StudioEntity.created_at, StudioEntity.id, cursors.rows_to_core(cursor), limit
    )
    return rows, cursors.rows_from_core(nxt), more


def find(member: Member, entity_id: str, least: str, *, lock: bool = False) -> StudioEntity:
    """The org's entity once the member holds `least` in its project (else 403; another org's
    entity or one of a project the member cannot see → 404). `lock` (inside `write()`):
    serialize writers of this entity's records (a row lock on PostgreSQL)."""
    query = StudioEntity.select().where(
        (StudioEntity.id == entity_id) & (StudioEntity.tenant == member.org_id)
    )
    if lock and not is_sqlite():
        query = query.for_update()
    entity = query.first()
    if entity is None:
        raise not_found("entity", entity_id)
    roles.require_in(member, least, entity.project, "entity", entity_id)
    return entity


def get(member: Member, entity_id: str) -> StudioEntity:
    return find(member, entity_id, "viewer")


# --- schema changes ---------------------------------------------------------------------------


def _plan(
    old: list[Field],
    new: list[Field],
    renames: dict[str, str],
    rows: list[StudioRecord],
    drop: bool,
) -> tuple[list[tuple[StudioRecord, dict[str, Any]]], list[dict[str, Any]]]:
    """Every record's data under `new`, and what breaks (field, problem, records)."""
    old_by = {f.name: f for f in old}
    source = {new_name: old_name for old_name, new_name in renames.items()}
    for f in new:
        if f.name not in source and f.name in old_by:
            source[f.name] = f.name
    kept = set(source.values())
    breaks: Counter[tuple[str, str]] = Counter()
    planned: list[tuple[StudioRecord, dict[str, Any]]] = []
    seen: dict[str, Counter[str]] = {f.name: Counter() for f in new if f.unique}
    for row in rows:
        data = row.data or {}
        out: dict[str, Any] = {}
        for f in new:
            value = data.get(source[f.name]) if f.name in source else None
            if value is None and f.name not in source and f.default is not None:
                value = f.default
            if value is not None:
                try:
                    value = convert(f, value)
                except FieldError:
                    breaks[(f.name, f"values the new type {f.type} refuses")] += 1
                    continue
            if value is None and f.required:
                if f.name in source:
                    breaks[(f.name, "required but has no value")] += 1
                else:
                    breaks[(f.name, "new required field without a default")] += 1
                continue
            if value is not None:
                out[f.name] = value
                if f.unique:
                    seen[f.name][json.dumps(value)] += 1
        for name, value in data.items():
            if name not in kept and value is not None and name in old_by and not drop:
                breaks[(name, "removed field still holds values (send drop_fields: true)")] += 1
        planned.append((row, out))
    for name, counts in seen.items():
        dupes = sum(n for n in counts.values() if n > 1)
        if dupes:
            breaks[(name, "unique but existing values repeat")] += dupes
    return planned, [
        {"field": field, "problem": problem, "records": n}
        for (field, problem), n in sorted(breaks.items())
    ]


def update(member: Member, entity_id: str, body: Mapping[str, Any]) -> StudioEntity:
    """Change name, description, app, display fields or fields (migrating the records)."""
    entity = find(member, entity_id, "builder")
    projects.writable(entity.project)
    with write():
        entity = find(member, entity_id, "builder", lock=True)
        before = view(entity)
        old = fields_of(entity)
        fields = old
        renames = dict(body.get("renames") or {})
        migrated = 0
        if body.get("fields") is not None:
            fields = _parse_fields(body["fields"], _project_keys(entity.project_id))
            new_names = {f.name for f in fields}
            old_names = {f.name for f in old}
            for src, dst in renames.items():
                if src not in old_names:
                    raise _invalid(f"renames: {src!r} is not a field of the entity", "renames")
                if dst not in new_names:
                    raise _invalid(f"renames: {dst!r} is not in the new fields", "renames")
                if dst in old_names and dst not in renames:
                    raise _invalid(f"renames: {dst!r} is already a field", "renames")
            rows = list(StudioRecord.select().where(StudioRecord.entity == entity.id))
            planned, breaks = _plan(old, fields, renames, rows, bool(body.get("drop_fields")))
            if breaks:
                raise ApiError(
                    409,
                    "SCHEMA_CONFLICT",
                    f"The change would break {len(breaks)} rule(s) over existing records",
                    {"breaks": breaks},
                )
            now = clock.now()
            for row, data in planned:
                if data != (row.data or {}):
                    StudioRecord.update(
                        data=data, version=StudioRecord.version + 1, updated_at=now
                    ).where(StudioRecord.id == row.id).execute()
                    migrated += 1
            entity.fields = [f.view() for f in fields]
            entity.schema_version += 1
        elif renames:
            raise _invalid("renames needs fields (the new definition)", "renames")
        for attr in ("name", "description"):
            if body.get(attr) is not None:
                setattr(entity, attr, body[attr])
        if "app_id" in body:
            entity.app_id = body["app_id"]
        if body.get("display_fields") is not None or body.get("fields") is not None:
            wanted = body.get("display_fields")
            if wanted is None:
                names = {f.name for f in fields}
                moved = [renames.get(d, d) for d in entity.display_fields]
                wanted = [d for d in moved if d in names]
            entity.display_fields = _display(wanted or None, fields)
        entity.updated_at = clock.now()
        entity.save()
        after = view(entity)
        audit.record(
            member, "entity.updated", "entity", entity.id, project_id=entity.project_id,
            before=before, after=after, records_migrated=migrated,
        )  # fmt: skip
        if body.get("fields") is not None:
            announce(entity, "schema.updated", {
                "entity_id": entity.id, "entity_key": entity.key,
                "project_id": entity.project_id, "change": "updated",
                "schema_version": entity.schema_version, "fields": after["fields"],
                "renames": renames, "records_migrated": migrated,
            })  # fmt: skip
    return entity


def delete(member: Member, entity_id: str, force: bool) -> tuple[StudioEntity, int]:
    """Delete the entity: 409 while it has records unless `force` (then they go too), and
    409 while another entity's reference field names it."""
    entity = find(member, entity_id, "builder")
    projects.writable(entity.project)
    with write():
        entity = find(member, entity_id, "builder", lock=True)
        referring = [
            f"{other.key}.{f.name}"
            for other in StudioEntity.select().where(
                (StudioEntity.project == entity.project_id) & (StudioEntity.id != entity.id)
            )
            for f in fields_of(other)
            if f.type == "reference" and f.reference == entity.key
        ]
        if referring:
            raise conflict(f"Fields refer to this entity: {', '.join(referring)}")
        count = count_records(entity)
        if count and not force:
            raise ApiError(
                409, "ENTITY_HAS_RECORDS",
                f"The entity has {count} record(s); delete them or send force=true",
                {"records": count},
            )  # fmt: skip
        before = view(entity, count)
        StudioRecord.delete().where(StudioRecord.entity == entity.id).execute()
        StudioEntity.delete().where(StudioEntity.id == entity.id).execute()
        audit.record(
            member, "entity.deleted", "entity", entity.id, project_id=entity.project_id,
            before=before, records_deleted=count,
        )  # fmt: skip
        announce(entity, "schema.updated", {
            "entity_id": entity.id, "entity_key": entity.key, "project_id": entity.project_id,
            "change": "deleted", "records_deleted": count,
        })  # fmt: skip
    return entity, count
