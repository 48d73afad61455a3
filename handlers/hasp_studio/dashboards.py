"""/api/internal/orgs/{org_id}/dashboard/* and /api/internal/projects/{project_id}/dashboard/*."""

from __future__ import annotations

import datetime as dt
from typing import Any

from agentyard.core import clock
from agentyard.hasp import envelope
from agentyard.hasp.studio import dashboard_activity, dashboard_analytics, dashboards
from agentyard.hasp.studio.errors import invalid
from handlers.hasp_studio.security import current_member


def _moment(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return clock.parse(value)
    except (ValueError, OverflowError):
        raise invalid(f"{name} must be an RFC 3339 date-time with a UTC offset", name) from None


def _day(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise invalid(f"{name} must be a date, YYYY-MM-DD", name) from None


def get_org_overview(org_id: str) -> dict[str, Any]:
    return envelope.ok(dashboards.org_overview(current_member(), org_id))


def list_org_dashboard_projects(
    org_id: str, cursor: str | None = None, limit: int = 50, include_archived: bool = False
) -> dict[str, Any]:
    return envelope.page(
        *dashboards.org_projects(current_member(), org_id, bool(include_archived), cursor, limit)
    )


def get_health_rollup(org_id: str, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
    return envelope.page(*dashboards.health_rollup(current_member(), org_id, cursor, limit))


def get_project_overview(project_id: str) -> dict[str, Any]:
    return envelope.ok(dashboards.project_overview(current_member(), project_id))


def list_project_activity(
    project_id: str, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    return envelope.page(*dashboard_activity.activity(current_member(), project_id, cursor, limit))


def list_project_audit_log(
    project_id: str,
    cursor: str | None = None,
    limit: int = 50,
    action: str | None = None,
    user_id: str | None = None,
    entity_type: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> dict[str, Any]:
    return envelope.page(
        *dashboard_activity.audit_entries(
            current_member(),
            project_id,
            cursor,
            limit,
            action=action,
            user_id=user_id,
            entity_type=entity_type,
            since=_moment(since, "since"),
            until=_moment(until, "until"),
        )  # fmt: skip
    )


def get_project_analytics(
    project_id: str, from_: str | None = None, until: str | None = None
) -> dict[str, Any]:
    return envelope.ok(
        dashboard_analytics.analytics(
            current_member(), project_id, _day(from_, "from"), _day(until, "until")
        )
    )
