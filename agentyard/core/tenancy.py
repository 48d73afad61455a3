"""Find a row of the caller's tenant, or answer 404: another tenant's row is not found either
(never a 403 that would confirm it exists)."""

from __future__ import annotations

from typing import Any, TypeVar

import peewee

from agentyard.core.errors import DEFAULT_CODES, not_found

M = TypeVar("M", bound=peewee.Model)
R = TypeVar("R")


def found(row: R | None, what: str, ref: object = None, **kw: Any) -> R:
    """`row`, or raise `errors.not_found(what, ref, **kw)` when it is None."""
    if row is None:
        raise not_found(what, ref, **kw)
    return row


def find_in_tenant(
    model: type[M],
    id: object,
    tenant: object,
    *,
    what: str,
    tenant_field: str = "tenant",
    id_field: str = "id",
    where: peewee.Expression | None = None,
    message: str | None = None,
    code: str = DEFAULT_CODES[404],
) -> M:
    """The `model` row whose `id_field` is `id` and `tenant_field` is `tenant` (and matching
    `where`, e.g. not deleted); else 404 `No {what} {id}` (or `message`) with `code`."""
    condition = (getattr(model, id_field) == id) & (getattr(model, tenant_field) == tenant)
    if where is not None:
        condition &= where
    return found(model.get_or_none(condition), what, id, message=message, code=code)
