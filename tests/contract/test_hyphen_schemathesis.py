"""Hyphen contract, part 1: the management gateway, the SDK, OAuth, forms, licensing and health
(the fixture and the rules: tests/contract/hyphen_contract.py)."""

from __future__ import annotations

from typing import Any

import schemathesis

from tests.contract.hyphen_contract import PART_ONE, check, hyphen_schema, openapi  # noqa: F401

schema = schemathesis.pytest.from_fixture("hyphen_schema").include(path_regex=PART_ONE)


@schema.parametrize()
def test_hyphen_contract(case: schemathesis.Case, openapi: Any) -> None:  # noqa: F811
    check(case, openapi)
