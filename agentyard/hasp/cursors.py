"""HASP's page cursors: readable positions, exactly what the published pattern describes.

The lists page newest first. A cursor names the position after which the next page starts:
`<created_at as milliseconds since the Unix epoch>.<tiebreaker>`, the tiebreaker being the row
id (`key_01...`, `baa_01...`, `we_01...`) on the keys, acceptances and webhooks lists and the
entry's sequence number on the audit log. Every string that matches the pattern is a valid
cursor (the page holds the rows strictly older than that position), so a schema-valid request
is never refused for its cursor; anything else is refused by the schema (422).

Core's paging and audit query take their own opaque cursors; this module translates both ways.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from agentyard.core import b64, clock, paging
from agentyard.core.errors import ApiError

ROWS = re.compile(r"([0-9]{1,14})\.([A-Za-z0-9_]{1,64})")
AUDIT = re.compile(r"([0-9]{1,14})\.([0-9]{1,18})")
_EPOCH = dt.datetime(1970, 1, 1)
_MS = dt.timedelta(milliseconds=1)


def _when(ms: str) -> dt.datetime:
    return _EPOCH + int(ms) * _MS


def _ms(when: dt.datetime) -> int:
    return (when - _EPOCH) // _MS


def _parse(cursor: str, pattern: re.Pattern[str]) -> re.Match[str]:
    match = pattern.fullmatch(cursor)
    if match is None:
        raise ApiError(400, "VALIDATION_FAILED", "cursor is not a valid paging cursor")
    return match


def rows_to_core(cursor: str | None) -> str | None:
    """A list cursor as core's paging takes it."""
    if not cursor:
        return None
    ms, row_id = _parse(cursor, ROWS).groups()
    return paging.encode(_when(ms), row_id)


def rows_from_core(core_cursor: str | None) -> str | None:
    """Core's paging cursor as HASP's."""
    if core_cursor is None:
        return None
    when, row_id = paging.decode(core_cursor)
    return f"{_ms(when)}.{row_id}"


def audit_to_core(cursor: str | None) -> str | None:
    """An audit cursor as `core.audit.query` takes it (base64 of `[created_at, seq]`)."""
    if not cursor:
        return None
    ms, seq = _parse(cursor, AUDIT).groups()
    raw = json.dumps([clock.iso(_when(ms)), int(seq)], separators=(",", ":"))
    return b64.encode(raw.encode())


def audit_from_core(core_cursor: str | None) -> str | None:
    """`core.audit.query`'s next cursor as HASP's."""
    if core_cursor is None:
        return None
    created, seq = json.loads(b64.decode(core_cursor))
    return f"{_ms(clock.parse(created))}.{int(seq)}"
