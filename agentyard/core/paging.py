"""Cursor paging over (created_at, id), newest first: opaque cursors, stable order.

The cursor is the URL-safe base64 of the last row's `created_at` and `id`; a cursor that does not
decode is a 400. Ties on `created_at` are broken by `id`, so pages never skip or repeat a row.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import peewee

from agentyard.core import b64, clock
from agentyard.core.errors import ApiError


def encode(created_at: Any, row_id: str) -> str:
    raw = json.dumps([clock.iso(created_at), row_id], separators=(",", ":")).encode()
    return b64.encode(raw)


def decode(cursor: str) -> tuple[Any, str]:
    """(created_at, id) of a cursor; 400 when it is not one of ours."""
    try:
        raw = b64.decode(cursor)
        stamp, row_id = json.loads(raw)
        return clock.parse(stamp), str(row_id)
    except (ValueError, TypeError) as exc:
        raise ApiError(400, "invalid_cursor", "cursor is not a valid paging cursor") from exc


def total_of(
    query: peewee.SelectBase | Callable[[], peewee.SelectBase],
    page: list[Any],
    limit: int,
    offset: int | None = 0,
) -> int:
    """How many rows `query` (without paging) matches, given its page of at most `limit` rows
    after `offset` others (None: unknown, e.g. after a cursor). A page short of `limit` rows
    is the last one, so the total is known without a COUNT (unless it is empty past the
    start: then the offset may overshoot). `query` may be a function building it, called
    only when a COUNT is needed."""
    if offset is not None and len(page) < limit and (page or offset == 0):
        return offset + len(page)
    return int((query() if callable(query) else query).count())


def newest_first(
    query: peewee.ModelSelect[Any],
    created: peewee.Field,
    ident: peewee.Field,
    cursor: str | None,
    limit: int,
) -> tuple[list[Any], str | None, bool]:
    """One page of `query`: (rows, next cursor or None, whether more rows follow)."""
    if cursor:
        stamp, last_id = decode(cursor)
        query = query.where((created < stamp) | ((created == stamp) & (ident < last_id)))
    rows = list(query.order_by(created.desc(), ident.desc()).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows and more else None
    next_cursor = encode(getattr(last, created.name), getattr(last, ident.name)) if last else None
    return rows, next_cursor, more
