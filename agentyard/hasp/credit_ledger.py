"""The org's AI credits as HASP surfaces other than the AI gateway read them.

The ledger (credits reserved and settled per calendar month) belongs to the AI gateway
(`agentyard.hasp.ai.credits`), which registers its reader here, as it registers its model
catalogue in `orgs`, so HASP Studio's dashboards can show "AI credits used" without importing
the gateway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from agentyard.core.keys import Tenant


@dataclass(frozen=True)
class CreditUse:
    """Credits an org used in a billing period (settled requests; reservations excluded)."""

    used: int
    requests: int
    period_start: dt.datetime
    period_end: dt.datetime  # exclusive


_reader: Callable[[Tenant], CreditUse] | None = None


def register(reader: Callable[[Tenant], CreditUse]) -> None:
    """The gateway's ledger: `reader(org)` → the org's use in the current period."""
    global _reader
    _reader = reader


def current(org: Tenant) -> CreditUse | None:
    """The org's use of the current period (None until the gateway registered its ledger)."""
    return _reader(org) if _reader else None
