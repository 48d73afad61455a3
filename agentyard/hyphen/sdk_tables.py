"""SDK table rows: the custom tables a publishable key allows, through `agentyard.hyphen.tables`.

A table the key does not name (and no `*`) is a 403 whether or not it exists (the key's
tables are no secret: `GET /sdk/config` lists them); an allowed name with no table is a 404.
Any session may list; inserting and editing need a session signed in as a user who is not a
`viewer` (`sdk_access.require_user(write=True)`), and the table's audit names that user's email.
Each write publishes `table:updated` `{table, rowId, changes}` to the org's SDK streams.
"""

from __future__ import annotations

from typing import Any

from agentyard.hyphen import sdk_access, tables
from agentyard.hyphen.sdk import SdkCaller


def list_rows(
    caller: SdkCaller,
    name: str,
    filter_text: str | None,
    order_by: str | None,
    descending: bool,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """A page of an allowed table's rows, filtered and sorted as `/custom-tables/{name}/rows`."""
    sdk_access.require_table(caller, name)
    return tables.list_rows(
        caller.org_id,
        name,
        tables.parse_filter(filter_text),
        order_by=order_by,
        descending=descending,
        limit=limit,
        offset=offset,
    )


def insert(caller: SdkCaller, name: str, data: dict[str, Any]) -> dict[str, Any]:
    """Insert a row into an allowed table as the signed-in user (`tables` publishes
    `table:updated`)."""
    sdk_access.require_table(caller, name)
    sdk_access.require_user(caller, write=True)
    return tables.insert_row(caller.org_id, name, data, caller.actor)


def patch(caller: SdkCaller, name: str, row_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Set fields of one row of an allowed table as the signed-in user (`tables` publishes
    `table:updated`)."""
    sdk_access.require_table(caller, name)
    sdk_access.require_user(caller, write=True)
    return tables.patch_row(caller.org_id, name, row_id, data, caller.actor)
