"""Hyphen's conditions: `definition.condition` and a step's `filter.condition`.

    {"greaterThan": ["@input.invoices.length", 0]}
    {"equal": ["@input.status", "open"]}   {"hasKey": "input.po_number"}
    {"in": ["@input.region", ["EU", "US"]]}   {"matches": ["@input.email", "@acme\\.com$"]}

Comparisons take `[left, right]`: `equal`, `notEqual`, `greaterThan`, `lessThan`,
`greaterOrEqual`, `lessOrEqual` (numbers compare as numbers, numeric strings included; other
values compare as they are, so ISO dates order correctly; a comparison with null is false).
`hasKey` takes a path (with or without `@`) or `[object, key]`; `in` takes `[value, array]`
(or `[value, string]` for a substring); `matches` takes `[value, regex]` (a search).
Operands are literals, `@path` references, `{{ }}` templates or `{"length": operand}`.

Extension (not in Hyphen's docs): `and` / `or` take a list of conditions, `not` takes one; an
object with several operators holds when all of them do; `true` / `false` are conditions too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from agentyard.flows import Scope
from agentyard.hyphen import context

COMPARISONS = ("equal", "notEqual", "greaterThan", "lessThan", "greaterOrEqual", "lessOrEqual")
OPERATORS = (*COMPARISONS, "hasKey", "in", "matches", "and", "or", "not")
MAX_PATTERN = 1000


class ConditionError(ValueError):
    """A malformed condition; `where` is the JSON path inside it."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.message = message


def validate(cond: Any, where: str = "condition") -> None:
    """Check a condition's shape (operators, arity, literal regexes); raises ConditionError."""
    if isinstance(cond, bool):
        return
    if not isinstance(cond, dict) or not cond:
        raise ConditionError(where, "a condition must be an object with one operator")
    for op, args in cond.items():
        at = f"{where}.{op}"
        if op not in OPERATORS:
            raise ConditionError(at, f"unknown operator {op!r}; use one of {', '.join(OPERATORS)}")
        if op in ("and", "or"):
            if not isinstance(args, list) or not args:
                raise ConditionError(at, f"{op} takes a non-empty list of conditions")
            for i, sub in enumerate(args):
                validate(sub, f"{at}[{i}]")
        elif op == "not":
            validate(args, at)
        elif op == "hasKey":
            if isinstance(args, str):
                if not context.valid_path(args.removeprefix("@")):
                    raise ConditionError(at, f"{args!r} is not a valid path")
            elif not (isinstance(args, list) and len(args) == 2):
                raise ConditionError(at, "hasKey takes a path or [object, key]")
        else:
            if not isinstance(args, list) or len(args) != 2:
                raise ConditionError(at, f"{op} takes [left, right]")
            for i, operand in enumerate(args):
                _validate_operand(operand, f"{at}[{i}]")
            if op == "matches" and isinstance(args[1], str) and not _is_reference(args[1]):
                if len(args[1]) > MAX_PATTERN:
                    raise ConditionError(f"{at}[1]", f"the pattern exceeds {MAX_PATTERN} chars")
                try:
                    re.compile(args[1])
                except re.error as exc:
                    raise ConditionError(f"{at}[1]", f"invalid regular expression: {exc}") from None


def _is_reference(value: str) -> bool:
    return value.startswith("@") or "{{" in value


def _validate_operand(operand: Any, where: str) -> None:
    if isinstance(operand, dict) and set(operand) == {"length"}:
        _validate_operand(operand["length"], f"{where}.length")


def operands(cond: Any, where: str = "condition") -> list[tuple[str, Any]]:
    """Every operand of a condition (for reference checks), with its JSON path."""
    found: list[tuple[str, Any]] = []
    if not isinstance(cond, dict):
        return found
    for op, args in cond.items():
        at = f"{where}.{op}"
        if op in ("and", "or") and isinstance(args, list):
            for i, sub in enumerate(args):
                found += operands(sub, f"{at}[{i}]")
        elif op == "not":
            found += operands(args, at)
        elif op == "hasKey" and isinstance(args, str):
            found.append((at, "@" + args.removeprefix("@")))
        elif isinstance(args, list):
            found += [(f"{at}[{i}]", a) for i, a in enumerate(args)]
    return found


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _compare(op: str, left: Any, right: Any) -> bool:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        left, right = a, b
    if op == "equal":
        return bool(left == right)
    if op == "notEqual":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        if op == "greaterThan":
            return bool(left > right)
        if op == "lessThan":
            return bool(left < right)
        if op == "greaterOrEqual":
            return bool(left >= right)
        return bool(left <= right)
    except TypeError:
        return False


def evaluate(cond: Any, value_of: Callable[[Any], Any], has: Callable[[str], bool]) -> bool:
    """Evaluate a validated condition; `value_of` resolves an operand, `has` tests a path."""
    if isinstance(cond, bool):
        return cond
    if not isinstance(cond, dict):
        return bool(value_of(cond))
    return all(_holds(op, args, value_of, has) for op, args in cond.items())


def _operand(value: Any, value_of: Callable[[Any], Any]) -> Any:
    if isinstance(value, dict) and set(value) == {"length"}:
        inner = _operand(value["length"], value_of)
        return len(inner) if isinstance(inner, list | str | dict) else 0
    return value_of(value)


def _holds(op: str, args: Any, value_of: Callable[[Any], Any], has: Callable[[str], bool]) -> bool:
    if op == "and":
        return all(evaluate(c, value_of, has) for c in args)
    if op == "or":
        return any(evaluate(c, value_of, has) for c in args)
    if op == "not":
        return not evaluate(args, value_of, has)
    if op == "hasKey":
        if isinstance(args, str):
            return has(args.removeprefix("@"))
        obj, key = _operand(args[0], value_of), _operand(args[1], value_of)
        return isinstance(obj, dict) and str(key) in obj
    left, right = (_operand(a, value_of) for a in args)
    if op in COMPARISONS:
        return _compare(op, left, right)
    if op == "in":
        if isinstance(right, list):
            return any(_compare("equal", left, r) for r in right)
        if isinstance(right, str) and left is not None:
            return str(left) in right
        if isinstance(right, dict):
            return str(left) in right
        return False
    if op == "matches":
        if left is None or not isinstance(right, str) or len(right) > MAX_PATTERN:
            return False
        try:
            return re.search(right, left if isinstance(left, str) else str(left)) is not None
        except re.error:
            return False
    return False


def test(cond: Any, scope: Scope) -> bool:
    """The flows engine's `when` test for Hyphen: evaluate a condition in a run's scope."""
    return evaluate(
        cond,
        lambda v: context.resolve(v, scope),
        lambda path: path in context.SPECIAL_ROOTS or context.has_path(path, scope.data),
    )
