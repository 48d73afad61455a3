"""Prefixed, sortable ids: `<prefix>_<ULID>` (e.g. `sess_01HX9J2N3PQRSTVWXYZ...`)."""

from __future__ import annotations

import re

from ulid import ULID

_ULID = "[0-9A-HJKMNP-TV-Z]{26}"


def new_id(prefix: str, sep: str = "_") -> str:
    """A new id such as `msg_01J...`; `sep` lets surfaces use `app-01J...` styles."""
    return f"{prefix}{sep}{ULID()}"


def is_id(value: str, prefix: str, sep: str = "_") -> bool:
    """Whether `value` is a well-formed id with this prefix."""
    return re.fullmatch(re.escape(prefix + sep) + _ULID, value or "") is not None
