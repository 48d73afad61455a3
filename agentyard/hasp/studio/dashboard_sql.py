"""SQL pieces the dashboards aggregate with, the same on SQLite and PostgreSQL: a JSON value
inside a text column (`core.store.JsonField`), a timestamp's UTC day, the milliseconds between
two timestamps, a nearest-rank percentile, and the newest row per group."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import peewee
from peewee import SQL, Case, NodeList, fn

from agentyard.core.store import is_sqlite


def tuples(query: Any) -> list[tuple[Any, ...]]:
    """The rows of a query as tuples."""
    return [tuple(row) for row in query.tuples()]


def _pg_path(path: tuple[str, ...]) -> str:
    return "{" + ",".join(path) + "}"


def json_text(field: peewee.Field, *path: str) -> peewee.Node:
    """The JSON value at `path` in a JSON text column, as text (NULL when absent)."""
    if is_sqlite():
        return fn.json_extract(field, "$." + ".".join(path))
    return NodeList((SQL("(CAST("), field, SQL("AS jsonb) #>> %s)", (_pg_path(path),))))


def json_number(field: peewee.Field, *path: str) -> peewee.Node:
    """The JSON number at `path` in a JSON text column (NULL when absent or not a number)."""
    if is_sqlite():
        where = "$." + ".".join(path)
        return Case(
            None,
            [(fn.json_type(field, where).in_(["integer", "real"]), fn.json_extract(field, where))],
        )
    p = _pg_path(path)
    jsonb = NodeList((SQL("CAST("), field, SQL("AS jsonb)")))
    return Case(
        None,
        [
            (
                NodeList((SQL("jsonb_typeof("), jsonb, SQL("#> %s)", (p,)))) == "number",
                NodeList((SQL("("), jsonb, SQL("#>> %s)::numeric", (p,)))),
            )
        ],
    )


def day_of(field: peewee.Field) -> peewee.Node:
    """The UTC calendar day of a timestamp column (the store keeps naive UTC)."""
    return fn.date(field) if is_sqlite() else peewee.Cast(field, "date")


def as_day(value: Any) -> dt.date:
    """A `day_of` result as a date (peewee answers a datetime on SQLite, a date on PostgreSQL)."""
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def millis_between(start: peewee.Field, end: peewee.Field) -> peewee.Node:
    """Milliseconds from `start` to `end` (two timestamp columns)."""
    if is_sqlite():
        return (fn.julianday(end) - fn.julianday(start)) * 86400000.0
    return NodeList((SQL("(EXTRACT(EPOCH FROM ("), end, SQL("-"), start, SQL(")) * 1000)")))


def percentile(query: peewee.ModelSelect[Any], value: peewee.Node, pct: float) -> int | None:
    """The nearest-rank `pct` percentile of `value` over the rows of `query`, rounded to an
    integer (None: no rows): the smallest value at least `pct` % of the rows do not exceed."""
    count = query.count()
    if not count:
        return None
    rank = max(1, math.ceil(pct / 100 * count))
    found = query.select(value).order_by(value).offset(rank - 1).limit(1).scalar()
    return None if found is None else round(float(found))


def newest_per(
    query: peewee.ModelSelect[Any],
    key: Any,
    order: list[peewee.Node],
    columns: dict[str, Any],
) -> list[dict[str, Any]]:
    """For each `key` of `query`'s rows, the first row in `order` (a window function), as
    dicts of `columns` (plus `key`)."""
    ranked = fn.ROW_NUMBER().over(partition_by=[key], order_by=order)
    inner = query.select(
        key.alias("key"), *(c.alias(n) for n, c in columns.items()), ranked.alias("rn")
    ).alias("ranked")
    names = ["key", *columns]
    outer = (
        query.model.select(*(SQL(f'"ranked"."{n}"') for n in names))
        .from_(inner)
        .where(SQL('"ranked"."rn" = 1'))
    )
    return [dict(zip(names, row, strict=True)) for row in tuples(outer)]
