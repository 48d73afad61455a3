"""HASP's success envelope: `{"success": true, "data": ..., "meta": {"request_id", ...}}`."""

from __future__ import annotations

from typing import Any

from agentyard.core import request_context


def request_id() -> str:
    """The running request's id, `req_<ulid>`."""
    info = request_context.current()
    return info.request_id if info else ""


def ok(data: Any, **meta: Any) -> dict[str, Any]:
    """Wrap `data`; extra keyword arguments join `meta`."""
    return {"success": True, "data": data, "meta": {"request_id": request_id(), **meta}}


def page(items: list[Any], next_cursor: str | None, has_more: bool) -> dict[str, Any]:
    """A cursor page: items in `data`, `meta.next_cursor` and `meta.has_more`."""
    return ok(items, next_cursor=next_cursor, has_more=has_more)
