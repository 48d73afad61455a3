"""Credits per calendar month: reserve before going upstream, settle after.

A request reserves its maximum cost (input tokens + max_tokens, weighted) under a lock on the
org's period row, so concurrent requests can never together overshoot the limit; settling
replaces the reservation with the actual cost. Reservations older than RESERVATION_TTL (a
crashed worker's) are released by the next reservation. Crossing 50, 80 or 100 % of the limit
is reported once per period.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from agentyard.core import clock, ids
from agentyard.core.errors import ApiError
from agentyard.core.keys import Tenant
from agentyard.core.store import is_sqlite, write
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


def reserve(org: Tenant, amount: int) -> str:
    """Hold `amount` credits for a request; 402 AI_CREDITS_EXHAUSTED when they do not fit."""
    settings = settings_of(org)
    now = clock.now()
    period = period_of(now)
    with write():
        row = _locked_period(org, period)
        stale = list(
            Reservation.select().where(
                (Reservation.tenant == org)
                & (Reservation.period == period)
                & (Reservation.created_at < now - RESERVATION_TTL)
            )
        )
        if stale:
            row.reserved = max(0, row.reserved - sum(r.amount for r in stale))
            Reservation.delete().where(Reservation.id.in_([r.id for r in stale])).execute()
        if row.used + row.reserved + amount > limit_of(settings):
            row.save()
            raise _exhausted(period)
        row.reserved += amount
        row.save()
        reservation = Reservation.create(
            id=ids.new_id("res"), tenant=org, period=period, amount=amount, created_at=now
        )
    return reservation.id


def settle(org: Tenant, reservation_id: str, actual: int) -> list[int]:
    """Replace a reservation by the actual cost; the thresholds (%) newly crossed."""
    settings = settings_of(org)
    with write():
        reservation = Reservation.get_or_none(Reservation.id == reservation_id)
        period = reservation.period if reservation else period_of(clock.now())
        row = _locked_period(org, period)
        if reservation is not None:
            row.reserved = max(0, row.reserved - reservation.amount)
            reservation.delete_instance()
        row.used += actual
        row.requests += 1
        limit = limit_of(settings)
        crossed = [
            t
            for t in THRESHOLDS
            if t not in row.thresholds_reached and limit > 0 and row.used * 100 >= t * limit
        ]
        row.thresholds_reached = sorted(set(row.thresholds_reached) | set(crossed))
        row.save()
    return crossed


def release(reservation_id: str) -> None:
    """Give a failed request's reservation back."""
    with write():
        reservation = Reservation.get_or_none(Reservation.id == reservation_id)
        if reservation is None:
            return
        row = _locked_period(reservation.tenant, reservation.period)
        row.reserved = max(0, row.reserved - reservation.amount)
        row.save()
        reservation.delete_instance()


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
