"""Workflow conditions (`when`): a value whose truthiness decides (`"@approval.approved"`,
`true`), or an object with one operator:

    {"equals": [a, b]}  {"not_equals": [a, b]}  {"gt"|"gte"|"lt"|"lte": [a, b]}
    {"contains": [haystack, needle]}  {"in": [value, list]}  {"exists": a}
    {"all": [c, ...]}  {"any": [c, ...]}  {"not": c}

Operands are resolved against the run context first (`@path`, `{{ template }}`). A comparison
of values that do not compare (a number with a string) is false.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentyard.flows import Scope, default_resolve

PAIRS = ("equals", "not_equals", "gt", "gte", "lt", "lte", "contains", "in")
GROUPS = ("all", "any")
MAX_DEPTH = 8


def check(when: Any, depth: int = 0) -> None:
    """Raise ValueError for a condition of the wrong shape."""
    if depth > MAX_DEPTH:
        raise ValueError(f"conditions nest at most {MAX_DEPTH} deep")
    if not isinstance(when, Mapping):
        if isinstance(when, list):
            raise ValueError("a condition is a value, a @reference or an operator object")
        return
    if len(when) != 1:
        raise ValueError(f"a condition object has one operator ({', '.join(PAIRS + GROUPS)}, ...)")
    (op, arg), *_ = when.items()
    if op in PAIRS:
        if not isinstance(arg, list) or len(arg) != 2:
            raise ValueError(f"{op} takes a list of two operands")
    elif op in GROUPS:
        if not isinstance(arg, list) or not arg:
            raise ValueError(f"{op} takes a non-empty list of conditions")
        for item in arg:
            check(item, depth + 1)
    elif op == "not":
        check(arg, depth + 1)
    elif op != "exists":
        raise ValueError(f"unknown condition operator {op!r}")


def _compare(op: str, a: Any, b: Any) -> bool:
    try:
        if op == "equals":
            return bool(a == b)
        if op == "not_equals":
            return bool(a != b)
        if op == "contains":
            return b in a if isinstance(a, str | list | dict) else False
        if op == "in":
            return a in b if isinstance(b, list | str | dict) else False
        if isinstance(a, bool) or isinstance(b, bool):
            return False
        if op == "gt":
            return bool(a > b)
        if op == "gte":
            return bool(a >= b)
        if op == "lt":
            return bool(a < b)
        return bool(a <= b)
    except TypeError:
        return False


def test(when: Any, scope: Scope) -> bool:
    """Decide a condition against the run context (the `hasp-studio` engine's `when` test)."""
    if not isinstance(when, Mapping) or len(when) != 1:
        return bool(default_resolve(when, scope))
    (op, arg), *_ = when.items()
    if op in PAIRS:
        a, b = (default_resolve(v, scope) for v in arg)
        return _compare(op, a, b)
    if op == "all":
        return all(test(c, scope) for c in arg)
    if op == "any":
        return any(test(c, scope) for c in arg)
    if op == "not":
        return not test(arg, scope)
    if op == "exists":
        return default_resolve(arg, scope) is not None
    return bool(default_resolve(when, scope))
