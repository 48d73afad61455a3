"""The records list's query language, compiled to SQL over the JSON `data` column.

`filter`: conditions `field:op:value` joined by `,` (all must hold). A `,` or `\\` inside a
value is written `\\,` / `\\\\`. `field` is any field of the entity or `id`, `created_at`,
`updated_at`. Ops: `eq`, `ne`, `lt`, `lte`, `gt`, `gte`, `in` (values separated by `|`),
`contains` (case-insensitive substring, string-like fields), `null` (`true`: has no value,
`false`: has one). Values are read as the field's type (`true`/`false`, numbers, dates...).
`ne` and the comparisons never match a record without a value. `json` fields take `null` only.

`sort`: a field (or `created_at`, `updated_at`, `id`), `-` in front for descending; default
`-created_at`. Records without a value sort last either way; ties break on the record id.

Cursors are opaque (base64url of the sort, the last row's sort value and id): pages are
keyset pages, as fast deep as shallow, and a cursor made under another sort → 422.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import peewee
from peewee import SQL, Tuple, fn

from agentyard.core import b64, clock
from agentyard.core.errors import ApiError
from agentyard.core.store import is_sqlite
from agentyard.hasp.studio.entity_fields import Field, FieldError, coerce
from agentyard.hasp.studio.entity_models import StudioRecord

OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "null")
COLUMNS = ("id", "created_at", "updated_at")
MAX_CONDITIONS = 20
NUMERIC = ("integer", "number")


def bad(message: str, param: str = "filter") -> ApiError:
    return ApiError(422, "VALIDATION_FAILED", message, {"param": param})


def _split(text: str, sep: str) -> list[str]:
    """`text` split on unescaped `sep`, escapes resolved."""
    parts, cur, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i + 1])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def _escape_keep(text: str, sep: str) -> list[str]:
    """Split on unescaped `sep` keeping escapes (for a second split level)."""
    parts, cur, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any


def _literal(field: Field | None, name: str, raw: str) -> Any:
    """A filter value as the field stores it."""
    if field is None:  # a column
        if name == "id":
            return raw
        try:
            return clock.parse(raw)
        except (ValueError, OverflowError):
            raise bad(f"filter: {name} takes an RFC 3339 date-time") from None
    value: Any = raw
    if field.type in NUMERIC:
        try:
            value = int(raw) if field.type == "integer" else float(raw)
        except ValueError:
            raise bad(f"filter: {name} takes a number") from None
    elif field.type == "boolean":
        if raw not in ("true", "false"):
            raise bad(f"filter: {name} takes true or false")
        value = raw == "true"
    elif field.type == "reference" or field.type == "enum":
        return raw  # any string may be compared (an unknown option simply matches nothing)
    try:
        return coerce(field, value)
    except FieldError as exc:
        raise bad(f"filter: {exc.message}") from None


def parse_filter(text: str | None, fields: Sequence[Field]) -> list[Condition]:
    """The `filter` parameter as conditions; 422 naming what is wrong."""
    if not text:
        return []
    known = {f.name: f for f in fields}
    out: list[Condition] = []
    pieces = _escape_keep(text, ",")
    if len(pieces) > MAX_CONDITIONS:
        raise bad(f"filter: at most {MAX_CONDITIONS} conditions")
    for piece in pieces:
        parts = piece.split(":", 2)
        if len(parts) != 3:
            raise bad(f"filter: {piece!r} is not field:op:value")
        name, op, raw = parts
        if name not in known and name not in COLUMNS:
            raise bad(f"filter: {name!r} is not a field of this entity")
        if op not in OPS:
            raise bad(f"filter: op {op!r} is not one of {', '.join(OPS)}")
        field = known.get(name)
        if op == "null":
            flag = _split(raw, ",")[0]
            if flag not in ("true", "false"):
                raise bad("filter: null takes true or false")
            out.append(Condition(name, op, flag == "true"))
            continue
        if field is not None and field.type == "json":
            raise bad(f"filter: {name} is a json field (only the null op applies)")
        if op == "contains":
            if field is None or field.type not in ("string", "text", "enum", "reference"):
                raise bad(f"filter: contains applies to string fields, not {name}")
            out.append(Condition(name, op, _split(raw, ",")[0]))
            continue
        if op == "in":
            values = [_literal(field, name, v) for v in _split(_split(raw, ",")[0], "|")]
            out.append(Condition(name, op, values))
            continue
        out.append(Condition(name, op, _literal(field, name, _split(raw, ",")[0])))
    return out


def value_expr(field: Field) -> peewee.Node:
    """The field's value in SQL, typed so that comparisons and ordering are the field's."""
    if is_sqlite():
        return fn.json_extract(StudioRecord.data, f'$."{field.name}"')
    if field.type in NUMERIC:
        return SQL('(CAST("data" AS jsonb) ->> %s)::numeric', (field.name,))
    if field.type == "boolean":
        return SQL('(CAST("data" AS jsonb) ->> %s)::boolean', (field.name,))
    if field.type == "json":
        return SQL('(CAST("data" AS jsonb) -> %s)', (field.name,))
    return SQL('(CAST("data" AS jsonb) ->> %s) COLLATE "C"', (field.name,))


def _sql_value(field: Field | None, value: Any) -> Any:
    if field is not None and field.type == "boolean" and is_sqlite():
        return int(value)
    return value


def _is_null(expr: Any, field: Field | None) -> peewee.ColumnBase:
    if field is not None and field.type == "json" and not is_sqlite():
        return SQL(
            "COALESCE(CAST(\"data\" AS jsonb) -> %s, 'null'::jsonb) = 'null'::jsonb",
            (field.name,),
        )
    return expr.is_null()


def _expr(name: str, known: dict[str, Field]) -> Any:
    return getattr(StudioRecord, name) if name in COLUMNS else value_expr(known[name])


def where(conditions: Sequence[Condition], fields: Sequence[Field]) -> list[peewee.ColumnBase]:
    """SQL conditions for `conditions`."""
    known = {f.name: f for f in fields}
    out: list[peewee.ColumnBase] = []
    for c in conditions:
        field = known.get(c.field)
        expr = _expr(c.field, known)
        if c.op == "null":
            out.append(_is_null(expr, field) if c.value else ~_is_null(expr, field))
            continue
        if c.op == "contains":
            needle = c.value.lower()
            hay = fn.lower(expr)
            found = fn.instr(hay, needle) if is_sqlite() else fn.strpos(hay, needle)
            out.append(found > 0)
            continue
        if c.op == "in":
            values = [_sql_value(field, v) for v in c.value]
            out.append(expr.in_(values))
            continue
        out.append(_compare(c.op, expr, _sql_value(field, c.value)))
    return out


def _compare(op: str, expr: Any, v: Any) -> peewee.ColumnBase:
    if op == "eq":
        return expr == v
    if op == "ne":
        return (expr != v) & expr.is_null(False)
    if op == "lt":
        return expr < v
    if op == "lte":
        return expr <= v
    if op == "gt":
        return expr > v
    return expr >= v


@dataclass(frozen=True)
class Sort:
    field: str
    descending: bool

    @property
    def text(self) -> str:
        return ("-" if self.descending else "") + self.field


def parse_sort(text: str | None, fields: Sequence[Field]) -> Sort:
    if not text:
        return Sort("created_at", True)
    descending = text.startswith("-")
    name = text[1:] if descending else text
    known = {f.name: f for f in fields}
    if name not in known and name not in COLUMNS:
        raise bad(f"sort: {name!r} is not a field of this entity", "sort")
    if name in known and known[name].type == "json":
        raise bad(f"sort: {name} is a json field and cannot be sorted on", "sort")
    return Sort(name, descending)


def order(sort: Sort, fields: Sequence[Field]) -> list[Any]:
    """ORDER BY for `sort`: values (nulls last), then the record id the same way."""
    known = {f.name: f for f in fields}
    expr = _expr(sort.field, known)
    keys: list[Any] = []
    if sort.field not in COLUMNS:
        keys.append(expr.is_null().asc())
    if sort.field != "id":
        keys.append(expr.desc() if sort.descending else expr.asc())
    keys.append(StudioRecord.id.desc() if sort.descending else StudioRecord.id.asc())
    return keys


def sort_value(record: StudioRecord, sort: Sort) -> Any:
    if sort.field == "id":
        return None
    if sort.field in ("created_at", "updated_at"):
        return clock.iso(getattr(record, sort.field))
    return (record.data or {}).get(sort.field)


def encode_cursor(sort: Sort, record: StudioRecord) -> str:
    raw = json.dumps([sort.text, sort_value(record, sort), record.id], separators=(",", ":"))
    return b64.encode(raw.encode()).rstrip("=").replace("+", "-").replace("/", "_")


def after(cursor: str, sort: Sort, fields: Sequence[Field]) -> peewee.ColumnBase:
    """The keyset condition of the rows past `cursor` under `sort`; 422 for a bad cursor."""
    try:
        padded = cursor.replace("-", "+").replace("_", "/") + "=" * (-len(cursor) % 4)
        made_for, value, last_id = json.loads(b64.decode(padded))
        if not isinstance(last_id, str):
            raise ValueError
    except (ValueError, TypeError):
        raise bad("cursor is not a cursor of this list", "cursor") from None
    if made_for != sort.text:
        raise bad("cursor was made for another sort; start again without it", "cursor")
    known = {f.name: f for f in fields}
    rid = StudioRecord.id
    beyond_id = rid < last_id if sort.descending else rid > last_id
    if sort.field == "id":
        return beyond_id
    expr = _expr(sort.field, known)
    field = known.get(sort.field)
    if sort.field in COLUMNS:
        try:
            value = clock.parse(value)
        except (ValueError, TypeError, OverflowError):
            raise bad("cursor is not a cursor of this list", "cursor") from None
    elif value is not None:
        value = _sql_value(field, value)
    if sort.field in COLUMNS:  # a row-value comparison the (entity, created_at, id) index serves
        pair, last = Tuple(expr, rid), Tuple(value, last_id)
        return pair < last if sort.descending else pair > last
    if value is None:
        return expr.is_null() & beyond_id
    beyond = expr < value if sort.descending else expr > value
    return beyond | ((expr == value) & beyond_id) | expr.is_null()
