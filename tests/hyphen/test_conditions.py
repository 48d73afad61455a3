"""Hyphen conditions: every documented operator, the and/or/not extension, operand forms,
and validation errors naming the path."""

from __future__ import annotations

import pytest

from agentyard.flows import Scope
from agentyard.hyphen import conditions

DATA = {
    "input": {"amount": 150, "status": "open", "email": "a@acme.com", "invoices": [1, 2, 3]},
    "matched": [],
    "__approved": True,
}


def holds(cond) -> bool:
    return conditions.test(cond, Scope(dict(DATA), "run-1", "org"))


@pytest.mark.parametrize(
    "cond, expected",
    [
        ({"equal": ["@input.status", "open"]}, True),
        ({"equal": ["@input.amount", "150"]}, True),
        ({"notEqual": ["@input.status", "open"]}, False),
        ({"greaterThan": ["@input.amount", 100]}, True),
        ({"greaterThan": ["@input.invoices.length", 3]}, False),
        ({"lessThan": ["@input.amount", 100]}, False),
        ({"greaterOrEqual": ["@input.amount", 150]}, True),
        ({"lessOrEqual": ["@input.amount", 149.99]}, False),
        ({"greaterThan": [{"length": "@matched"}, 0]}, False),
        ({"greaterThan": ["@input.missing", 0]}, False),
        ({"hasKey": "input.email"}, True),
        ({"hasKey": "@input.nope"}, False),
        ({"hasKey": ["@input", "status"]}, True),
        ({"in": ["@input.status", ["open", "closed"]]}, True),
        ({"in": ["@input.status", ["closed"]]}, False),
        ({"matches": ["@input.email", "@acme\\.com$"]}, True),
        ({"matches": ["@input.email", "^b"]}, False),
        ({"equal": ["@__approved", True]}, True),
        (
            {"and": [{"equal": ["@input.status", "open"]}, {"greaterThan": ["@input.amount", 1]}]},
            True,
        ),
        ({"or": [{"equal": ["@input.status", "x"]}, {"equal": ["@input.status", "open"]}]}, True),
        ({"not": {"equal": ["@input.status", "open"]}}, False),
        ({"equal": ["{{input.status}}-x", "open-x"]}, True),
    ],
)
def test_operators(cond, expected):
    conditions.validate(cond)
    assert holds(cond) is expected


@pytest.mark.parametrize(
    "cond, where",
    [
        ({"bigger": [1, 2]}, "condition.bigger"),
        ({"equal": [1]}, "condition.equal"),
        ({"and": []}, "condition.and"),
        ({"and": [{"equal": [1, 1]}, {"nope": 1}]}, "condition.and[1].nope"),
        ({"matches": ["@input.x", "("]}, "condition.matches[1]"),
        ({"hasKey": "a..b"}, "condition.hasKey"),
        ([], "condition"),
    ],
)
def test_invalid_conditions_name_the_path(cond, where):
    with pytest.raises(conditions.ConditionError) as info:
        conditions.validate(cond)
    assert info.value.where == where
