"""A project's analytics over a range of UTC days: runs per day (zero-filled), p50/p95 run
duration, failure reasons, AI tokens per workflow (`dashboard_runs` over production runs).

The range is `from`..`until`, both inclusive (default: the 30 days ending today); at most
`MAX_DAYS` days, `from` not after `until`, else 422.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from agentyard.core import clock
from agentyard.hasp.studio import dashboard_runs as stats
from agentyard.hasp.studio import roles
from agentyard.hasp.studio.errors import invalid
from agentyard.hasp.studio.member import Member

DEFAULT_DAYS = 30
MAX_DAYS = 366


def date_range(first: dt.date | None, last: dt.date | None) -> tuple[dt.date, dt.date]:
    """The requested days, defaults applied and checked (a range reaching past the calendar's
    ends → 422)."""
    span = dt.timedelta(days=DEFAULT_DAYS - 1)
    try:
        last = last or (first + span if first else clock.now().date())
        first = first or last - span
        last + dt.timedelta(days=1)  # the query bounds the range by the day after it
    except OverflowError:
        raise invalid("the range reaches past the calendar's ends", "until") from None
    if first > last:
        raise invalid("from must not be after until", "from")
    if (last - first).days + 1 > MAX_DAYS:
        raise invalid(f"the range spans more than {MAX_DAYS} days", "until")
    return first, last


def analytics(
    member: Member, project_id: str, first: dt.date | None, last: dt.date | None
) -> dict[str, Any]:
    """The project's run analytics over the days (project viewer)."""
    project, _role = roles.find_project(member, project_id, "viewer")
    first, last = date_range(first, last)
    start = dt.datetime.combine(first, dt.time())
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())

    def runs() -> Any:
        return stats.runs(member.org_id, [project.id], start, end)

    return {
        "project_id": project.id,
        "from": first.isoformat(),
        "until": last.isoformat(),
        "days": (last - first).days + 1,
        "runs": stats.counts(runs()).view(),
        "runs_per_day": stats.per_day(runs(), first, last),
        "duration": stats.durations(runs()),
        "failure_reasons": stats.failure_reasons(runs()),
        "ai_tokens_per_workflow": stats.ai_tokens(runs()),
    }
