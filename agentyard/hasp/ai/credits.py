"""Credits per calendar month: reserve before going upstream, settle after.

A request reserves its maximum cost (input tokens + max_tokens, weighted) with one conditional
update of the org's period row (`reserved + amount` only where `used + reserved + amount` fits
the limit: the row's lock serializes concurrent requests, so together they can never overshoot
it); settling replaces the reservation with the actual cost. Reservations older than
RESERVATION_TTL (a crashed worker's) are released by the next reservation. Crossing 50, 80 or
100 % of the limit is reported once per period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import peewee

from agentyard.core import clock, ids
from agentyard.core.errors import ApiError
from agentyard.core.keys import Tenant
from agentyard.core.store import Prepared, PreparedInsert, is_sqlite, raw, write
from agentyard.hasp import credit_ledger
from agentyard.hasp.ai.models import CreditPeriod, Reservation
from agentyard.hasp.models import OrgSettings
from agentyard.hasp.orgs import settings_of

THRESHOLDS = (50, 80, 100)
RESERVATION_TTL = dt.timedelta(minutes=15)


def period_of(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m")


def bounds(period: str) -> tuple[dt.datetime, dt.datetime]:
    """Start and end (exclusive) of a `YYYY-MM` period, UTC."""
    start = dt.datetime.strptime(period, "%Y-%m")
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return start, end


def limit_of(settings: OrgSettings) -> int:
    """Credits the org may use this month: its allotment, or its spend cap when lower."""
    if settings.spend_cap is None:
        return settings.allotment
    return min(settings.allotment, settings.spend_cap)


def _locked_period(org: Tenant, period: str) -> CreditPeriod:
    """The org's period row, created if needed and locked for this transaction."""
    CreditPeriod.insert(
        tenant=org, period=period, thresholds_reached=[]
    ).on_conflict_ignore().execute()
    query = CreditPeriod.select().where(
        (CreditPeriod.tenant == org) & (CreditPeriod.period == period)
    )
    if not is_sqlite():  # SQLite's IMMEDIATE transaction already serializes writers
        query = query.for_update()
    return query.get()


def _exhausted(period: str) -> ApiError:
    reset = clock.iso(bounds(period)[1])
    return ApiError(
        402,
        "AI_CREDITS_EXHAUSTED",
        f"The organization's credits for this period are used up; they reset at {reset}",
        details={"cycle_reset_at": reset},
    )


@dataclass(frozen=True)
class Hold:
    """Credits reserved for one request in flight (its `Reservation` row)."""

    id: str
    period: str
    amount: int


def _less(field: peewee.Field, amount: Any) -> peewee.Node:
    """`max(0, field - amount)` in SQL both backends run."""
    return peewee.Case(None, [(field > amount, field - amount)], 0)


def _in_period(tenant_id: Any, period: Any) -> peewee.Expression:
    return (CreditPeriod.tenant == tenant_id) & (CreditPeriod.period == period)


# The statements of every gateway call (reserve, then settle or release): SQL compiled once.
_STALE: Prepared[Reservation] = Prepared(
    lambda tenant_id, period, cutoff: Reservation.select(Reservation.id, Reservation.amount).where(
        (Reservation.tenant == tenant_id)
        & (Reservation.period == period)
        & (Reservation.created_at < raw(cutoff))
    )
)
_TAKE: Prepared[CreditPeriod] = Prepared(
    lambda tenant_id, period, amount, limit: CreditPeriod.update(
        reserved=CreditPeriod.reserved + raw(amount)
    ).where(
        _in_period(tenant_id, period)
        & (CreditPeriod.used + CreditPeriod.reserved + raw(amount) <= raw(limit))
    )
)
_HOLD: PreparedInsert[Reservation] = PreparedInsert(Reservation, list(Reservation._meta.fields))
_DROP_HOLD: Prepared[Reservation] = Prepared(
    lambda hold_id: Reservation.delete().where(Reservation.id == hold_id)
)
_SETTLE: Prepared[CreditPeriod] = Prepared(
    lambda tenant_id, period, given_back, actual: CreditPeriod.update(
        {
            CreditPeriod.reserved: _less(CreditPeriod.reserved, raw(given_back)),
            CreditPeriod.used: CreditPeriod.used + raw(actual),
            CreditPeriod.requests: CreditPeriod.requests + 1,
        }
    ).where(_in_period(tenant_id, period))
)
_GIVE_BACK: Prepared[CreditPeriod] = Prepared(
    lambda tenant_id, period, amount: CreditPeriod.update(
        reserved=_less(CreditPeriod.reserved, raw(amount))
    ).where(_in_period(tenant_id, period))
)
_USED: Prepared[CreditPeriod] = Prepared(
    lambda tenant_id, period: CreditPeriod.select(
        CreditPeriod.used, CreditPeriod.thresholds_reached
    ).where(_in_period(tenant_id, period))
)


def _release_stale(org: Tenant, period: str, now: dt.datetime) -> None:
    """Give back the period's reservations older than RESERVATION_TTL (a crashed worker's)."""
    stale = _STALE(org.id, period, now - RESERVATION_TTL)
    if stale:
        Reservation.delete().where(Reservation.id.in_([r.id for r in stale])).execute()
        _GIVE_BACK.execute(org.id, period, sum(r.amount for r in stale))


def reserve(org: Tenant, amount: int) -> Hold:
    """Hold `amount` credits for a request; 402 AI_CREDITS_EXHAUSTED when they do not fit."""
    limit = limit_of(settings_of(org))
    now = clock.now()
    period = period_of(now)
    hold = Hold(ids.new_id("res"), period, amount)
    with write():  # committed when refused too: stale holds released stay released
        _release_stale(org, period, now)
        taken = _TAKE.execute(org.id, period, amount, limit) > 0
        if not taken:  # the period's first request, or no room
            row = _locked_period(org, period)
            taken = row.used + row.reserved + amount <= limit
            if taken:
                row.reserved += amount
                row.save()
        if taken:
            _HOLD.execute(id=hold.id, tenant=org, period=period, amount=amount, created_at=now)
    if not taken:
        raise _exhausted(period)
    return hold


def settle(org: Tenant, hold: Hold, actual: int) -> list[int]:
    """Replace a reservation by the actual cost; the thresholds (%) newly crossed."""
    limit = limit_of(settings_of(org))
    with write():
        # a reservation released as stale meanwhile was already given back
        given_back = hold.amount if _DROP_HOLD.execute(hold.id) else 0
        if not _SETTLE.execute(org.id, hold.period, given_back, actual):
            _locked_period(org, hold.period)  # no row yet: created, then updated
            _SETTLE.execute(org.id, hold.period, given_back, actual)
        row = _USED(org.id, hold.period)[0]  # as this transaction left it (its lock held)
        crossed = [
            t
            for t in THRESHOLDS
            if t not in row.thresholds_reached and limit > 0 and row.used * 100 >= t * limit
        ]
        if crossed:
            reached = sorted(set(row.thresholds_reached) | set(crossed))
            CreditPeriod.update(thresholds_reached=reached).where(
                _in_period(org.id, hold.period)
            ).execute()
    return crossed


def release(org: Tenant, hold: Hold) -> None:
    """Give a failed request's reservation back."""
    with write():
        if _DROP_HOLD.execute(hold.id):
            _GIVE_BACK.execute(org.id, hold.period, hold.amount)


def _period_row(org: Tenant, period: str) -> CreditPeriod | None:
    return CreditPeriod.get_or_none((CreditPeriod.tenant == org) & (CreditPeriod.period == period))


def usage(org: Tenant) -> dict[str, Any]:
    """The current period's usage summary."""
    settings = settings_of(org)
    period = period_of(clock.now())
    start, end = bounds(period)
    row = _period_row(org, period)
    used, reserved, requests = (row.used, row.reserved, row.requests) if row else (0, 0, 0)
    return {
        "period": {"start": clock.iso(start), "end": clock.iso(end)},
        "credits": {
            "allotment": settings.allotment,
            "used": used,
            "reserved": reserved,
            "remaining": max(0, limit_of(settings) - used - reserved),
            "overage_purchased": 0,
            "overage_consumed": 0,
        },
        "requests": {"total": requests},
    }


def budget(org: Tenant) -> dict[str, Any]:
    settings = settings_of(org)
    period = period_of(clock.now())
    row = _period_row(org, period)
    return {
        "spend_cap": settings.spend_cap,
        "thresholds": list(THRESHOLDS),
        "thresholds_reached": list(row.thresholds_reached) if row else [],
        "period_end": clock.iso(bounds(period)[1]),
        "updated_at": clock.iso(settings.budget_updated_at),
    }


def set_cap(org: Tenant, spend_cap: int | None) -> None:
    settings = settings_of(org)
    with write():
        settings.spend_cap = spend_cap
        settings.budget_updated_at = clock.now()
        settings.save()


def current_use(org: Tenant) -> credit_ledger.CreditUse:
    """The org's settled credits and requests of the current period (for the org core)."""
    period = period_of(clock.now())
    start, end = bounds(period)
    row = _period_row(org, period)
    used, requests = (row.used, row.requests) if row else (0, 0)
    return credit_ledger.CreditUse(used, requests, start, end)


credit_ledger.register(current_use)
