"""Per-key usage by UTC day: authenticated requests and runs started (workflow runs and agent
runs), counted as they happen and read by `GET /gateway/orgs/{orgId}/usage`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from agentyard.core import clock
from agentyard.hyphen.gateway_models import KeyUsage


def _count(key_id: str, org_id: str, *, requests: int = 0, runs: int = 0) -> None:
    """Add to the counters of `key_id` today (one upsert)."""
    (
        KeyUsage.insert(
            key_id=key_id, org=org_id, day=clock.now().date(), requests=requests, runs=runs
        )
        .on_conflict(
            conflict_target=[KeyUsage.key_id, KeyUsage.day],
            update={
                KeyUsage.requests: KeyUsage.requests + requests,
                KeyUsage.runs: KeyUsage.runs + runs,
            },
        )
        .execute()
    )


def record_request(key_id: str, org_id: str) -> None:
    """Count one authenticated request of `key_id`."""
    _count(key_id, org_id, requests=1)


def record_run(key_id: str, org_id: str) -> None:
    """Count one run `key_id` started."""
    _count(key_id, org_id, runs=1)


def report(org_id: str, since: dt.date, until: dt.date) -> list[dict[str, Any]]:
    """The org's counters per key and day in [since, until], oldest day first."""
    rows = (
        KeyUsage.select()
        .where((KeyUsage.org == org_id) & (KeyUsage.day >= since) & (KeyUsage.day <= until))
        .order_by(KeyUsage.day, KeyUsage.key_id)
    )
    return [
        {
            "key_id": r.key_id,
            "date": _day(r.day).isoformat(),
            "requests": r.requests,
            "runs": r.runs,
        }
        for r in rows
    ]


def _day(value: Any) -> dt.date:
    # SQLite hands DateField values back as text
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
