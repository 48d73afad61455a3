"""The `matcher` primitive: reconcile two lists of records ("rules first").

Properties (Hyphen's, with their defaults): `left`, `right` (arrays, already resolved from
`@path`s), `matchOn` (fields that must be equal on both sides), `tolerance` (absolute, on the
amount field), `dateWindowDays` (± days between the date fields), `fuzzyThreshold` (0-100) with
`descriptionKey` (the field compared by similarity, rapidfuzz's token-sort ratio), `rules`, and
the three output keys `outputMatched` ("matched"), `outputUnmatchedLeft` ("unmatchedLeft"),
`outputUnmatchedRight` ("unmatchedRight").

Extensions where the docs are silent: `amountKey` ("amount") and `dateKey` ("date") name the
fields `tolerance` and `dateWindowDays` apply to; each `rules` entry is `{"field", "type":
"exact"|"tolerance"|"dateWindow"|"fuzzy", "rightField"?, "value"?}` and adds one more test.

Matching is one-to-one and deterministic: each left record, in order, takes the best unused
right record that passes every test (smallest amount difference, then date difference, then
the highest similarity, then the earliest).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from rapidfuzz import fuzz

RULE_TYPES = ("exact", "tolerance", "dateWindow", "fuzzy")


@dataclass(frozen=True)
class Rule:
    """One test between a left and a right record."""

    type: str
    field: str
    right_field: str
    value: float | None = None


@dataclass
class MatchSpec:
    """What the matcher compares (see the module docstring)."""

    match_on: Sequence[str] = ()
    tolerance: float | None = None
    amount_key: str = "amount"
    date_window_days: float | None = None
    date_key: str = "date"
    fuzzy_threshold: float | None = None
    description_key: str | None = None
    rules: list[Rule] = field(default_factory=list)


class MatcherError(ValueError):
    """Properties the matcher cannot use."""


def _num(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _date(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = dt.datetime.combine(dt.date.fromisoformat(text[:10]), dt.time())
        except ValueError:
            return None
    return (
        parsed.replace(tzinfo=None)
        if parsed.tzinfo is None
        else parsed.astimezone(dt.UTC).replace(tzinfo=None)
    )


def spec_from(props: Mapping[str, Any]) -> MatchSpec:
    """A MatchSpec from the step's (resolved) properties; raises MatcherError."""
    match_on = props.get("matchOn") or []
    if isinstance(match_on, str):
        match_on = [match_on]
    if not isinstance(match_on, list) or not all(isinstance(k, str) for k in match_on):
        raise MatcherError("matchOn must be an array of field names")

    def number(name: str) -> float | None:
        value = props.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise MatcherError(f"{name} must be a non-negative number")
        return float(value)

    threshold = number("fuzzyThreshold")
    if threshold is not None and threshold > 100:
        raise MatcherError("fuzzyThreshold must be between 0 and 100")
    rules: list[Rule] = []
    for i, rule in enumerate(props.get("rules") or []):
        if not isinstance(rule, Mapping) or rule.get("type") not in RULE_TYPES:
            raise MatcherError(f"rules[{i}].type must be one of {', '.join(RULE_TYPES)}")
        if not isinstance(rule.get("field"), str):
            raise MatcherError(f"rules[{i}].field must be a field name")
        value = rule.get("value")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise MatcherError(f"rules[{i}].value must be a number")
        rules.append(
            Rule(rule["type"], rule["field"], str(rule.get("rightField") or rule["field"]), value)
        )
    return MatchSpec(
        match_on=match_on,
        tolerance=number("tolerance"),
        amount_key=str(props.get("amountKey") or "amount"),
        date_window_days=number("dateWindowDays"),
        date_key=str(props.get("dateKey") or "date"),
        fuzzy_threshold=threshold,
        description_key=props.get("descriptionKey"),
        rules=rules,
    )


def _score(spec: MatchSpec, left: Mapping[str, Any], right: Mapping[str, Any]) -> tuple | None:
    """None when the pair fails a test, else a sort key (lower is better) and the details."""
    for key in spec.match_on:
        if key not in left or key not in right or left[key] != right[key]:
            return None
    amount_diff = Decimal(0)
    if spec.tolerance is not None:
        a, b = _num(left.get(spec.amount_key)), _num(right.get(spec.amount_key))
        if a is None or b is None:
            return None
        amount_diff = abs(a - b)
        if amount_diff > Decimal(str(spec.tolerance)):
            return None
    date_diff = 0.0
    if spec.date_window_days is not None:
        a_date, b_date = _date(left.get(spec.date_key)), _date(right.get(spec.date_key))
        if a_date is None or b_date is None:
            return None
        date_diff = abs((a_date - b_date).total_seconds()) / 86400
        if date_diff > spec.date_window_days:
            return None
    similarity = 100.0
    if spec.fuzzy_threshold is not None and spec.description_key:
        a_text = left.get(spec.description_key)
        b_text = right.get(spec.description_key)
        if not isinstance(a_text, str) or not isinstance(b_text, str):
            return None
        similarity = float(fuzz.token_sort_ratio(a_text.casefold(), b_text.casefold()))
        if similarity < spec.fuzzy_threshold:
            return None
    for rule in spec.rules:
        a_value, b_value = left.get(rule.field), right.get(rule.right_field)
        if rule.type == "exact" and (a_value is None or a_value != b_value):
            return None
        if rule.type == "tolerance":
            a, b = _num(a_value), _num(b_value)
            if a is None or b is None or abs(a - b) > Decimal(str(rule.value or 0)):
                return None
        if rule.type == "dateWindow":
            a_date, b_date = _date(a_value), _date(b_value)
            if a_date is None or b_date is None:
                return None
            if abs((a_date - b_date).total_seconds()) / 86400 > (rule.value or 0):
                return None
        if rule.type == "fuzzy":
            if not isinstance(a_value, str) or not isinstance(b_value, str):
                return None
            if fuzz.token_sort_ratio(a_value.casefold(), b_value.casefold()) < (rule.value or 0):
                return None
    return (amount_diff, date_diff, -similarity), {
        "amount_difference": float(amount_diff),
        "date_difference_days": date_diff,
        "similarity": similarity,
    }


def match(left: Sequence[Any], right: Sequence[Any], spec: MatchSpec) -> dict[str, list]:
    """`{"matched": [{left, right, amount_difference, date_difference_days, similarity}],
    "unmatchedLeft": [...], "unmatchedRight": [...]}` (records that are not objects never
    match)."""
    used: set[int] = set()
    matched: list[dict[str, Any]] = []
    unmatched_left: list[Any] = []
    for item in left:
        best: tuple | None = None
        if isinstance(item, Mapping):
            for j, candidate in enumerate(right):
                if j in used or not isinstance(candidate, Mapping):
                    continue
                scored = _score(spec, item, candidate)
                if scored is not None and (best is None or (scored[0], j) < (best[0], best[1])):
                    best = (scored[0], j, scored[1])
        if best is None:
            unmatched_left.append(item)
            continue
        used.add(best[1])
        matched.append({"left": item, "right": right[best[1]], **best[2]})
    unmatched_right = [r for j, r in enumerate(right) if j not in used]
    return {"matched": matched, "unmatchedLeft": unmatched_left, "unmatchedRight": unmatched_right}


def output_keys(props: Mapping[str, Any]) -> tuple[str, str, str]:
    """The context keys the three results land under."""
    return (
        str(props.get("outputMatched") or "matched"),
        str(props.get("outputUnmatchedLeft") or "unmatchedLeft"),
        str(props.get("outputUnmatchedRight") or "unmatchedRight"),
    )
