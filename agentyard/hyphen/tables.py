"""Custom tables: typed fields, rows, filters and an audit of every mutation.

Storage: one JSON-typed rows table for every custom table of every org (`TableRow.data`),
beside each table's field definitions (`CustomTable.fields`), instead of one SQL table per
custom table. Creating a table is an insert, never DDL at request time: nothing to migrate,
lock, quote or clean up, the same on SQLite and PostgreSQL, and tenancy is the ordinary `org`
column. The types, `required` and `maxLength` are enforced here on every write (`invalid`
naming the field, and nothing is written). Filters and ordering compile to the store's JSON
operators (`json_extract` on SQLite, `jsonb` on PostgreSQL), so they run in SQL.

Field types and what a value must be (JSON): `text` a string (at most `maxLength`
characters), `integer` an integer within 64 bits (a float with no fraction is taken),
`numeric` any finite number, `boolean` true/false, `timestamptz` an RFC 3339 date-time with
an offset (stored as UTC, `...Z`, millisecond precision). `null` is "no value"; a `required`
field must have one.

Writes to one table are serialized (SQLite's write lock; a row lock on the table's definition
on PostgreSQL), so an upsert never inserts a duplicate of a concurrent one.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import peewee
from peewee import SQL, fn

from agentyard.core import clock
from agentyard.core.errors import ApiError, conflict, invalid, not_found
from agentyard.core.store import db, is_sqlite, write
from agentyard.hyphen import sdk_events
from agentyard.hyphen.models import CustomTable, TableAudit, TableRow

TYPES = ("text", "integer", "numeric", "boolean", "timestamptz")
RESERVED = ("id", "created_at", "updated_at")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
MAX_BULK = 1000
MAX_LIMIT = 1000
INT64 = 2**63
WHAT = "custom table"


@dataclass(frozen=True)
class Field:
    """One typed field of a table."""

    name: str
    type: str
    required: bool = False
    max_length: int | None = None

    def view(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "required": self.required}
        if self.max_length is not None:
            out["maxLength"] = self.max_length
        return out


def _fields(table: CustomTable) -> list[Field]:
    return [
        Field(f["name"], f["type"], bool(f.get("required")), f.get("maxLength"))
        for f in table.fields
    ]


def parse_fields(raw: Sequence[Mapping[str, Any]]) -> list[Field]:
    """Field definitions from the wire; `invalid` naming the first bad one."""
    found: list[Field] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        name, kind = item.get("name"), item.get("type")
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise invalid(f"fields[{i}].name must be letters, digits and '_' (1-63)")
        if name in RESERVED:
            raise invalid(f"fields[{i}].name '{name}' is reserved ({', '.join(RESERVED)})")
        if name in seen:
            raise invalid(f"fields[{i}].name '{name}' is used twice")
        if kind not in TYPES:
            raise invalid(f"fields[{i}].type must be one of {', '.join(TYPES)}")
        max_length = item.get("maxLength")
        if max_length is not None and kind != "text":
            raise invalid(f"fields[{i}] ('{name}'): maxLength applies to text fields only")
        seen.add(name)
        found.append(Field(name, kind, bool(item.get("required", False)), max_length))
    if not found:
        raise invalid("fields must name at least one field")
    return found


# --- values -----------------------------------------------------------------------------------


class FieldError(ValueError):
    """A value a field refuses; `rejected()` turns it into the API's 400."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def rejected(exc: FieldError, index: int | None = None) -> ApiError:
    """The 400 for a refused value: `details.field` (and `details.index` for a bulk row)."""
    details: dict[str, Any] = {"field": exc.field}
    if index is not None:
        details["index"] = index
    return invalid(exc.message, details=details)


def _coerce(field: Field, value: Any, where: str) -> Any:
    """The stored form of `value` for `field`; FieldError naming the field otherwise."""
    label = f"{where}{field.name}"
    if value is None:
        if field.required:
            raise FieldError(field.name, f"{label} is required")
        return None
    kind = field.type
    if kind == "text":
        if not isinstance(value, str):
            raise FieldError(field.name, f"{label} must be text (a string)")
        if "\x00" in value:
            raise FieldError(field.name, f"{label} must not contain U+0000")
        if field.max_length is not None and len(value) > field.max_length:
            raise FieldError(field.name, f"{label} is longer than its maxLength {field.max_length}")
        return value
    if kind == "integer":
        if isinstance(value, float) and not isinstance(value, bool) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise FieldError(field.name, f"{label} must be an integer")
        if not -INT64 <= value < INT64:
            raise FieldError(field.name, f"{label} is outside the 64-bit integer range")
        return value
    if kind == "numeric":
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise FieldError(field.name, f"{label} must be a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise FieldError(field.name, f"{label} must be a finite number")
        if isinstance(value, int) and not -INT64 <= value < INT64:
            try:
                value = float(value)  # kept as a number both stores compare
            except OverflowError:
                raise FieldError(field.name, f"{label} is out of range") from None
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise FieldError(field.name, f"{label} must be a boolean")
        return value
    if not isinstance(value, str):  # timestamptz
        raise FieldError(field.name, f"{label} must be an RFC 3339 date-time string with an offset")
    try:
        return clock.iso(clock.parse(value))
    except (ValueError, OverflowError):
        raise FieldError(
            field.name, f"{label} must be an RFC 3339 date-time with an offset"
        ) from None


def _by_name(fields: list[Field]) -> dict[str, Field]:
    return {f.name: f for f in fields}


def _check_keys(fields: dict[str, Field], values: Mapping[str, Any], where: str) -> None:
    for key in values:
        if key not in fields:
            raise FieldError(key, f"{where}{key} is not a field of this table")


def check_row(fields: list[Field], values: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """A whole row's stored data (every field, null when absent); FieldError naming the field."""
    known = _by_name(fields)
    _check_keys(known, values, where)
    return {f.name: _coerce(f, values.get(f.name), where) for f in fields}


def check_changes(
    fields: list[Field], values: Mapping[str, Any], where: str = ""
) -> dict[str, Any]:
    """The stored form of the fields `values` sets (a partial row)."""
    known = _by_name(fields)
    _check_keys(known, values, where)
    return {name: _coerce(known[name], value, where) for name, value in values.items()}


def _check_filter(
    fields: list[Field], where: Mapping[str, Any], label: str = "where."
) -> dict[str, Any]:
    """Filter values in stored form (null allowed); `id` filters on the row id."""
    known = _by_name(fields)
    out: dict[str, Any] = {}
    for key, value in where.items():
        if key == "id":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < INT64:
                raise FieldError("id", f"{label}id must be a row id (a positive integer)")
            out[key] = value
            continue
        if key not in known:
            raise FieldError(key, f"{label}{key} is not a field of this table")
        out[key] = None if value is None else _coerce(known[key], value, label)
    return out


# --- SQL over the JSON column -----------------------------------------------------------------


def _json_path(field: str) -> peewee.Node:
    if is_sqlite():
        return fn.json_extract(TableRow.data, f'$."{field}"')
    return SQL('(CAST("data" AS jsonb) -> %s)', (field,))


def _matches(field: str, value: Any) -> peewee.ColumnBase:
    if field == "id":
        return TableRow.id == value
    if is_sqlite():
        expr = fn.json_extract(TableRow.data, f'$."{field}"')
        if value is None:
            return expr.is_null()
        return expr == (int(value) if isinstance(value, bool) else value)
    if value is None:
        return SQL(
            "COALESCE(CAST(\"data\" AS jsonb) -> %s, 'null'::jsonb) = 'null'::jsonb", (field,)
        )
    return SQL('(CAST("data" AS jsonb) -> %s) = CAST(%s AS jsonb)', (field, json.dumps(value)))


def _where(table: CustomTable, where: Mapping[str, Any]) -> peewee.ColumnBase:
    condition: peewee.ColumnBase = TableRow.table == table.id
    for field, value in where.items():
        condition &= _matches(field, value)
    return condition


# --- tables -----------------------------------------------------------------------------------


def find(org_id: str, name: str) -> CustomTable:
    """The org's table `name`; not_found otherwise."""
    table = CustomTable.get_or_none((CustomTable.org == org_id) & (CustomTable.name == name))
    if table is None:
        raise not_found(WHAT, name)
    return table


def _lock(table: CustomTable) -> None:
    """Inside `write()`: serialize writers of one table (a row lock on its definition on
    PostgreSQL; SQLite's write lock already does) and check it was not deleted meanwhile."""
    query = CustomTable.select(CustomTable.id).where(CustomTable.id == table.id)
    if not is_sqlite():
        query = query.for_update()
    if query.first() is None:
        raise not_found(WHAT, table.name)


def _audit(
    table: CustomTable,
    operation: str,
    actor: str,
    row_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    TableAudit.create(
        table=table.id,
        operation=operation,
        row_id=row_id,
        before=before,
        after=after,
        actor=actor[:160],
        at=clock.now(),
    )


def describe(table: CustomTable) -> dict[str, Any]:
    """A table's view: name, fields, row count, creation time."""
    return {
        "name": table.name,
        "fields": [f.view() for f in _fields(table)],
        "row_count": TableRow.select().where(TableRow.table == table.id).count(),
        "created_at": clock.iso(table.created_at),
    }


def create_table(
    org_id: str, name: str, fields: Sequence[Mapping[str, Any]], actor: str
) -> dict[str, Any]:
    """Create the org's table `name`; conflict when the name is taken."""
    if not NAME.fullmatch(name):
        raise invalid("name must be letters, digits and '_', not starting with a digit (1-63)")
    parsed = parse_fields(fields)
    with write():
        if CustomTable.get_or_none((CustomTable.org == org_id) & (CustomTable.name == name)):
            raise conflict(f"A custom table named '{name}' already exists")
        try:
            with db.atomic():
                table = CustomTable.create(
                    id=f"tbl-{uuid.uuid4()}",
                    org=org_id,
                    name=name,
                    fields=[f.view() for f in parsed],
                    created_at=clock.now(),
                )
        except peewee.IntegrityError:
            raise conflict(f"A custom table named '{name}' already exists") from None
        _audit(table, "create_table", actor, after={"fields": table.fields})
    return describe(table)


def table_view(org_id: str, name: str) -> dict[str, Any]:
    """The org's table `name`; not_found otherwise."""
    return describe(find(org_id, name))


def delete_table(org_id: str, name: str) -> None:
    """Delete the table with its rows and audit."""
    with write():
        table = find(org_id, name)
        _lock(table)
        TableAudit.delete().where(TableAudit.table == table.id).execute()
        TableRow.delete().where(TableRow.table == table.id).execute()
        CustomTable.delete().where(CustomTable.id == table.id).execute()


# --- rows -------------------------------------------------------------------------------------


def row_view(
    table: CustomTable, row: TableRow, fields: list[Field] | None = None
) -> dict[str, Any]:
    """A row: id, every field (null when it has none), created_at, updated_at."""
    data = row.data or {}
    out: dict[str, Any] = {"id": row.id}
    for f in fields if fields is not None else _fields(table):
        out[f.name] = data.get(f.name)
    out["created_at"] = clock.iso(row.created_at)
    out["updated_at"] = clock.iso(row.updated_at)
    return out


def _insert(table: CustomTable, data: dict[str, Any], actor: str) -> TableRow:
    now = clock.now()
    row = TableRow.create(table=table.id, data=data, created_at=now, updated_at=now)
    _audit(table, "insert", actor, row.id, None, data)
    return row


def insert_rows(
    org_id: str, table_name: str, rows: Sequence[Mapping[str, Any]], actor: str, *, bulk: bool
) -> list[dict[str, Any]]:
    """Insert `rows`, all or nothing; `invalid` naming the row index (bulk) and the field."""
    table = find(org_id, table_name)
    fields = _fields(table)
    checked: list[dict[str, Any]] = []
    for i, values in enumerate(rows):
        try:
            checked.append(check_row(fields, values, f"rows[{i}]." if bulk else ""))
        except FieldError as exc:
            raise rejected(exc, i if bulk else None) from None
    with write():
        _lock(table)
        made = [_insert(table, data, actor) for data in checked]
    sdk_events.table_updated(org_id, table.name, [(row.id, row.data) for row in made])
    return [row_view(table, row, fields) for row in made]


def insert_row(org_id: str, table: str, row: dict[str, Any], actor: str) -> dict[str, Any]:
    """Insert one row into the org's `table`; the row's view."""
    return insert_rows(org_id, table, [row], actor, bulk=False)[0]


def _update(
    table: CustomTable, row: TableRow, changes: dict[str, Any], actor: str, op: str
) -> None:
    before = dict(row.data or {})
    after = {**before, **changes}
    row.data, row.updated_at = after, clock.now()
    TableRow.update(data=after, updated_at=row.updated_at).where(TableRow.id == row.id).execute()
    _audit(table, op, actor, row.id, before, after)


def update_rows(
    org_id: str, table: str, where: dict[str, Any], values: dict[str, Any], actor: str
) -> int:
    """Set `values` on every row of the org's `table` matching `where`; how many matched."""
    found = find(org_id, table)
    fields = _fields(found)
    try:
        changes = check_changes(fields, values, "values.")
        condition = _where(found, _check_filter(fields, where))
    except FieldError as exc:
        raise rejected(exc) from None
    with write():
        _lock(found)
        rows = list(TableRow.select().where(condition).order_by(TableRow.id))
        for row in rows:
            _update(found, row, changes, actor, "update")
    if rows:
        sdk_events.table_updated(org_id, found.name, [(row.id, changes) for row in rows])
    return len(rows)


def patch_row(
    org_id: str, table: str, row_id: int, values: dict[str, Any], actor: str
) -> dict[str, Any]:
    """Set the fields `values` names on one row; not_found for a row not in the table."""
    found = find(org_id, table)
    fields = _fields(found)
    try:
        changes = check_changes(fields, values, "data.")
    except FieldError as exc:
        raise rejected(exc) from None
    with write():
        _lock(found)
        row = TableRow.get_or_none((TableRow.id == row_id) & (TableRow.table == found.id))
        if row is None:
            raise not_found("row", row_id)
        _update(found, row, changes, actor, "patch")
    sdk_events.table_updated(org_id, found.name, [(row.id, changes)])
    return row_view(found, row, fields)


def upsert_row(
    org_id: str, table: str, key_fields: list[str], row: dict[str, Any], actor: str
) -> dict[str, Any]:
    """Update the row whose `key_fields` equal `row`'s (the first by id), else insert `row`."""
    found = find(org_id, table)
    fields = _fields(found)
    if not key_fields:
        raise invalid("upsert needs at least one key field")
    missing = [k for k in key_fields if k not in row]
    if missing:
        raise invalid(f"upsert key field(s) {', '.join(missing)} missing from the row")
    try:
        changes = check_changes(fields, row)
        keys = _check_filter(fields, {k: row[k] for k in key_fields}, "")
        whole = check_row(fields, row)
    except FieldError as exc:
        raise rejected(exc) from None
    with write():
        _lock(found)
        existing = TableRow.select().where(_where(found, keys)).order_by(TableRow.id).first()
        if existing is not None:
            _update(found, existing, changes, actor, "update")
            written, what = existing, changes
        else:
            written = _insert(found, whole, actor)
            what = whole
    sdk_events.table_updated(org_id, found.name, [(written.id, what)])
    return row_view(found, written, fields)


def read_rows(org_id: str, table: str, where: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """Up to `limit` rows of the org's `table` matching `where`, by id."""
    found = find(org_id, table)
    fields = _fields(found)
    try:
        condition = _where(found, _check_filter(fields, where))
    except FieldError as exc:
        raise rejected(exc) from None
    limit = max(1, min(int(limit), MAX_LIMIT))
    rows = TableRow.select().where(condition).order_by(TableRow.id).limit(limit)
    return [row_view(found, row, fields) for row in rows]


def parse_filter(text: str | None) -> dict[str, Any]:
    """The `filter` query parameter: a JSON object of scalar values."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise invalid('filter must be a JSON object, e.g. {"status": "open"}') from None
    if not isinstance(value, dict):
        raise invalid('filter must be a JSON object, e.g. {"status": "open"}')
    for key, item in value.items():
        if isinstance(item, dict | list):
            raise invalid(f"filter.{key} must be a single value (text, number, boolean, null)")
    return value


def list_rows(
    org_id: str,
    table: str,
    where: dict[str, Any],
    *,
    order_by: str | None = None,
    descending: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """A page of the table's rows matching `where`, and how many match in all."""
    found = find(org_id, table)
    fields = _fields(found)
    try:
        condition = _where(found, _check_filter(fields, where, "filter."))
    except FieldError as exc:
        raise rejected(exc) from None
    if order_by in (None, "id"):
        keys: list[Any] = []
    elif order_by in ("created_at", "updated_at"):
        keys = [getattr(TableRow, order_by)]
    elif order_by in _by_name(fields):
        keys = [_json_path(order_by)]
    else:
        raise invalid(f"order_by: '{order_by}' is not a field of this table")
    keys.append(TableRow.id)
    ordering = [k.desc() if descending else k.asc() for k in keys]
    query = TableRow.select().where(condition)
    total = query.count()
    rows = query.order_by(*ordering).limit(limit).offset(offset)
    return [row_view(found, row, fields) for row in rows], total


def audit(
    org_id: str, table: str, limit: int = 100, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """A page of the table's audit, oldest first, and how many entries it has."""
    found = find(org_id, table)
    query = TableAudit.select().where(TableAudit.table == found.id)
    total = query.count()
    entries = [
        {
            "id": e.id,
            "operation": e.operation,
            "row_id": e.row_id,
            "before": e.before,
            "after": e.after,
            "actor": e.actor,
            "at": clock.iso(e.at),
        }
        for e in query.order_by(TableAudit.id).limit(limit).offset(offset)
    ]
    return entries, total
