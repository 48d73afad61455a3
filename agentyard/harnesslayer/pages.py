"""Harnesslayer's page-number paging: `{"items", "page", "pageSize", "total"}`, newest first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import peewee


def page(
    query: peewee.ModelSelect[Any],
    created: peewee.Field,
    ident: peewee.Field,
    number: int,
    size: int,
    view: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """One page of `query`, ordered by creation (newest first, ties by id)."""
    total = query.count()
    rows = query.order_by(created.desc(), ident.desc()).paginate(number, size)
    return {"items": [view(r) for r in rows], "page": number, "pageSize": size, "total": total}
