"""SDK tool pickers: the registered actions and the workflows a publishable key allows
(`*`: all of the org's), paged as `/actions` and `/workflows` are; any session may list.

A picker shows what a page needs to offer the tool, not its configuration (an action's URL,
headers or query, a workflow's definition stay with the engine routes): an action's id, name,
kind, description and input schema; a workflow's id, name, description and input schema id."""

from __future__ import annotations

from typing import Any

from agentyard.core import clock
from agentyard.hyphen import actions, sdk_access, workflows
from agentyard.hyphen.sdk import SdkCaller


def action_page(caller: SdkCaller, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The allowed actions, oldest first, for a picker; and how many."""
    names = sdk_access.allowed_or_all(caller.allowed_actions)
    rows, total = actions.page(caller.org_id, limit=limit, offset=offset, names=names)
    return [
        {
            "id": a.id,
            "action_name": a.action_name,
            "kind": a.kind,
            "description": a.description,
            "input_schema": actions.input_schema(a),
            "created_at": clock.iso(a.created_at),
        }
        for a in rows
    ], total


def workflow_page(caller: SdkCaller, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The allowed workflows (by id or name), oldest first, for a picker."""
    refs = sdk_access.allowed_or_all(caller.allowed_workflows)
    rows, total = workflows.page(caller.org_id, limit=limit, offset=offset, refs=refs)
    return [
        {
            "id": w.id,
            "name": w.name,
            "description": w.description,
            "input_schema": w.input_schema_id,
            "created_at": clock.iso(w.created_at),
        }
        for w in rows
    ], total
