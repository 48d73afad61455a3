"""Per-key usage by UTC day: authenticated requests and runs started (workflow runs and agent
runs), summed in memory as they happen and written about once a second (`core.tally`: no
store write per request), read by `GET /gateway/orgs/{orgId}/usage`."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import peewee

from agentyard.core import clock
from agentyard.core.tally import Tally
from agentyard.hyphen.gateway_models import KeyUsage


def _write(sums: dict[tuple[str, str, dt.date], list[int]]) -> None:
    """Add the sums to the counters of each key and day (one upsert each). A key whose org
    is gone (deleted since) is skipped, so it cannot hold back the others' counts."""
    for (key_id, org_id, day), (requests, runs) in sums.items():
        try:
            (
                KeyUsage.insert(key_id=key_id, org=org_id, day=day, requests=requests, runs=runs)
                .on_conflict(
                    conflict_target=[KeyUsage.key_id, KeyUsage.day],
                    update={
                        KeyUsage.requests: KeyUsage.requests + requests,
                        KeyUsage.runs: KeyUsage.runs + runs,
                    },
                )
                .execute()
            )
        except peewee.IntegrityError:
            log.warning("usage of key %s not counted: its org %s is gone", key_id, org_id)


log = logging.getLogger(__name__)

_counts: Tally[tuple[str, str, dt.date]] = Tally(_write, fields=2)


def record_request(key_id: str, org_id: str) -> None:
    """Count one authenticated request of `key_id`."""
    _counts.add((key_id, org_id, clock.now().date()), 1, 0)


def record_run(key_id: str, org_id: str) -> None:
    """Count one run `key_id` started."""
    _counts.add((key_id, org_id, clock.now().date()), 0, 1)


def report(org_id: str, since: dt.date, until: dt.date) -> list[dict[str, Any]]:
    """The org's counters per key and day in [since, until], oldest day first."""
    _counts.flush()
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
