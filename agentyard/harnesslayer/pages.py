"""Harnesslayer's page-number paging: `{"items", "page", "pageSize", "total"}`, newest first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import peewee

from agentyard.core import paging


def page(
    query: peewee.ModelSelect[Any],
    created: peewee.Field,
    ident: peewee.Field,
    number: int,
    size: int,
    view: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """One page of `query`, ordered by creation (newest first, ties by id)."""
    rows = list(newest_first(query, created, ident).paginate(number, size))
    return shaped(query, rows, number, size, view)


def newest_first(
    query: peewee.ModelSelect[Any], created: peewee.Field, ident: peewee.Field
) -> peewee.ModelSelect[Any]:
    """`query` in page order: newest first, ties by id."""
    return query.order_by(created.desc(), ident.desc())


def offset(number: int, size: int) -> int:
    """Where page `number` (from 1) of `size` rows starts."""
    return max(number - 1, 0) * size


def shaped(
    query: peewee.ModelSelect[Any],
    rows: list[Any],
    number: int,
    size: int,
    view: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """Page `number` of `query` whose `rows` were read (by `page` or a prepared query of the
    same order), with the total."""
    total = paging.total_of(query, rows, size, offset(number, size))
    return {"items": [view(r) for r in rows], "page": number, "pageSize": size, "total": total}
