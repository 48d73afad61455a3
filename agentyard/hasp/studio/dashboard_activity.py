"""A project's activity feed and audit log: the org's hash-chained audit entries that name
the project (authoring, members, records, releases and approvals, runs), newest first, paged
with HASP's audit cursor (`<created_at ms>.<seq>`, `agentyard.hasp.cursors`).

The audit holds no secrets: token and webhook views carry no secret, integration changes
record only `secret_changed`, and record values of `phi` fields are `[REDACTED]`; so the log
is shown in full (project viewer).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from agentyard.core import audit as audit_log
from agentyard.core.audit import AuditEntry
from agentyard.hasp import cursors
from agentyard.hasp.studio import roles
from agentyard.hasp.studio.errors import invalid
from agentyard.hasp.studio.member import Member

Page = tuple[list[dict[str, Any]], str | None, bool]


def _page(
    member: Member, project_id: str, cursor: str | None, limit: int, **filters: Any
) -> tuple[list[AuditEntry], str | None, bool]:
    project, _role = roles.find_project(member, project_id, "viewer")
    rows, after = audit_log.query(
        member.org,
        cursor=cursors.audit_to_core(cursor),
        limit=limit,
        project_id=project.id,
        **filters,
    )
    return rows, cursors.audit_from_core(after), after is not None


def _label(entry: AuditEntry) -> str | None:
    meta = entry.metadata if isinstance(entry.metadata, dict) else {}
    for side in ("after", "before"):
        state = meta.get(side)
        if isinstance(state, dict):
            for key in ("name", "title", "email", "key"):
                if isinstance(state.get(key), str) and state[key]:
                    return state[key]
    return None


def summary(entry: AuditEntry) -> str:
    """One line for a person: `Created workflow "Intake" (wf_…)`."""
    thing, _, verb = entry.action.rpartition(".")
    words = (verb or entry.action).replace("_", " ")
    what = (entry.entity_type or thing or "").replace("_", " ")
    label = _label(entry)
    target = f'{what} "{label}" ({entry.entity_id})' if label else f"{what} {entry.entity_id or ''}"
    return f"{words[:1].upper()}{words[1:]} {target}".strip()


def activity(member: Member, project_id: str, cursor: str | None, limit: int) -> Page:
    """The project's activity feed (project viewer)."""
    rows, after, more = _page(member, project_id, cursor, limit)
    items = [
        {
            "id": e.id,
            "at": e.created_at_iso,
            "actor": e.user_id,
            "action": e.action,
            "entity_type": e.entity_type,
            "entity_id": e.entity_id,
            "summary": summary(e),
        }
        for e in rows
    ]
    return items, after, more


def audit_entries(
    member: Member,
    project_id: str,
    cursor: str | None,
    limit: int,
    *,
    action: str | None = None,
    user_id: str | None = None,
    entity_type: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Page:
    """The project's audit entries, filtered, in full (project viewer); `since` after
    `until` → 422."""
    if since is not None and until is not None and since > until:
        raise invalid("since must not be after until", "since")
    rows, after, more = _page(
        member, project_id, cursor, limit,
        action=action, user_id=user_id, entity_type=entity_type, since=since, until=until,
    )  # fmt: skip
    items = [
        {
            **e.to_api(),
            "seq": e.seq,
            "org_id": e.org_id,
            "project_id": e.project_id,
            "subject_type": e.subject_type,
            "prev_hash": e.prev_hash,
        }
        for e in rows
    ]
    return items, after, more
