"""PHI out of a trace document: what every trace view, list and export shows.

Only the document's content (the values under `trace_document.CONTENT` keys: inputs, outputs,
errors, event data, decisions) is redacted; ids, statuses and times are the run's metadata.
Two passes, in order:

1. `phi` entity fields: under a content key, a value of a key that is a `phi` field of one of
   the project's entities becomes `[PHI:<field>]`, and the same value (3+ characters) is
   replaced wherever else it recurs in the content;
2. the PHI guard (`agentyard.phi.guard`, every org's PHI recognizers, fails closed) over every
   remaining content string at once: findings become numbered placeholders (`[PERSON_1]`),
   the same value the same placeholder across the whole document.

`redact(doc, project_id)` returns the redacted document and what was revealed by nothing but
an elevation: `{entity_types: {type: count}, fields: [phi field names]}` (never values).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from agentyard.core.errors import ApiError
from agentyard.hasp.studio import entities
from agentyard.hasp.studio.entity_models import StudioEntity
from agentyard.hasp.studio.trace_document import CONTENT

SCAN_TIMEOUT = 10.0
# Strings the guard never needs to see: our ids (`wfr_01...`) and plain decimal numbers (a
# phone number or a date is not one of these: it is scanned).
_PLAIN = re.compile(r"[a-z]{2,8}_[0-9A-Za-z]{10,40}|-?[0-9]{1,6}(\.[0-9]{1,6})?")
_MIN_RECURRING = 3


def phi_fields(project_id: str) -> set[str]:
    """The names of the `phi` fields of the project's entities."""
    rows = StudioEntity.select().where(StudioEntity.project == project_id)
    return {f.name for e in rows for f in entities.fields_of(e) if f.phi}


def _map_content(doc: Any, fn: Callable[[Any, str | None], Any], inside: bool = False) -> Any:
    """`doc` with `fn(value, key)` applied to every leaf under a content key."""
    if isinstance(doc, dict):
        return {
            k: _map_content(v, fn, inside or k in CONTENT) if isinstance(v, dict | list)
            else (fn(v, k) if inside or k in CONTENT else v)
            for k, v in doc.items()
        }  # fmt: skip
    if isinstance(doc, list):
        return [
            _map_content(v, fn, inside) if isinstance(v, dict | list)
            else (fn(v, None) if inside else v)
            for v in doc
        ]  # fmt: skip
    return doc


def _fields_pass(doc: Any, names: set[str]) -> tuple[Any, set[str]]:
    found: dict[str, str] = {}  # value -> field

    def by_key(value: Any, key: str | None) -> Any:
        if key in names and value is not None and not isinstance(value, bool):
            found.setdefault(str(value), str(key))
            return f"[PHI:{key}]"
        return value

    doc = _map_content(doc, by_key)
    recurring = sorted((v for v in found if len(v) >= _MIN_RECURRING), key=len, reverse=True)
    if recurring:
        pattern = re.compile("|".join(re.escape(v) for v in recurring))

        def elsewhere(value: Any, key: str | None) -> Any:
            if isinstance(value, str):
                return pattern.sub(lambda m: f"[PHI:{found[m.group(0)]}]", value)
            return value

        doc = _map_content(doc, elsewhere)
    return doc, set(found.values())


def _guard_pass(doc: Any) -> tuple[Any, dict[str, int]]:
    from agentyard.phi.guard import get_guard

    texts: list[str] = []

    def collect(value: Any, key: str | None) -> Any:
        if isinstance(value, str) and value and not _PLAIN.fullmatch(value):
            texts.append(value)
        return value

    _map_content(doc, collect)
    if not texts:
        return doc, {}
    unique = list(dict.fromkeys(texts))
    try:
        redaction = get_guard().redact(unique, timeout=SCAN_TIMEOUT)
    except Exception as exc:  # the guard fails closed: no trace rather than an unscanned one
        raise ApiError(
            503, "PHI_SCAN_FAILED", f"The PHI scan of the trace failed ({exc}); try again"
        ) from None
    replaced = dict(zip(unique, redaction.texts, strict=True))

    def apply(value: Any, key: str | None) -> Any:
        return replaced.get(value, value) if isinstance(value, str) else value

    return _map_content(doc, apply), dict(redaction.counts)


def redact(doc: dict[str, Any], project_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The document with PHI redacted, and what the redaction hid (types and fields)."""
    out, fields = _fields_pass(doc, phi_fields(project_id))
    out, counts = _guard_pass(out)
    return out, {"entity_types": counts, "fields": sorted(fields)}
