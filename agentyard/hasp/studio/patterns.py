"""The agentic-patterns catalogue shipped with agentyard (`data/agentic_patterns.yaml`): id,
name, description, the primitives it uses and an example Studio workflow definition."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from agentyard.hasp.studio import roles
from agentyard.hasp.studio.member import Member


@cache
def catalogue() -> tuple[dict[str, Any], ...]:
    """Every pattern, in the file's (curated) order."""
    text = resources.files("agentyard.hasp.studio").joinpath("data/agentic_patterns.yaml")
    return tuple(yaml.safe_load(text.read_text(encoding="utf-8"))["patterns"])


def _offset(cursor: str | None) -> int:
    """The catalogue is not time-ordered: a cursor `<n>.<pattern id>` starts after the n-th
    pattern (any value of the list cursor's form is a position)."""
    return int(cursor.split(".", 1)[0]) if cursor else 0


def page(
    member: Member, org_id: str, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None, bool]:
    """A page of the catalogue (org viewer)."""
    roles.require_org(member, org_id, "viewer")
    start = _offset(cursor)
    items = list(catalogue()[start : start + limit])
    more = start + limit < len(catalogue())
    after = f"{start + limit}.{items[-1]['id'].replace('-', '_')}" if more and items else None
    return items, after, more
