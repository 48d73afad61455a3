"""Hyphen contract, part 2: workflows, runs, approvals, actions, agents, tables, documents,
schemas, webhooks and the rest (the fixture and the rules: tests/contract/hyphen_contract.py)."""

from __future__ import annotations

from typing import Any

import schemathesis

from tests.contract.hyphen_contract import PART_ONE, check, hyphen_schema, openapi  # noqa: F401

schema = schemathesis.pytest.from_fixture("hyphen_schema").exclude(path_regex=PART_ONE)


@schema.parametrize()
def test_hyphen_contract_core(case: schemathesis.Case, openapi: Any) -> None:  # noqa: F811
    check(case, openapi)
