"""Time: naive-UTC datetimes in the store, RFC 3339 `...Z` strings on the wire."""

from __future__ import annotations

import datetime as dt


def now() -> dt.datetime:
    """The current UTC time as a naive datetime, truncated to milliseconds."""
    t = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def iso(value: dt.datetime | None) -> str | None:
    """RFC 3339 UTC with milliseconds, e.g. `2026-04-06T09:00:00.000Z`."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


def to_naive(value: dt.datetime) -> dt.datetime:
    """An aware datetime as naive UTC, the form the store keeps."""
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def parse(value: str) -> dt.datetime:
    """Parse an RFC 3339 timestamp into naive UTC; raises ValueError when it is not one."""
    text = value.strip()
    if "T" not in text.upper():
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    parsed = dt.datetime.fromisoformat(text.replace("z", "Z"))
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp needs a UTC offset or Z: {value!r}")
    return to_naive(parsed)
