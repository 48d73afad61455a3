"""Schemathesis fuzzes every operation of specs/aisp-hub.yaml against the app.

Every default check runs (server errors, status codes, content types, headers and bodies
conforming to the spec, schema-valid requests accepted and schema-invalid ones rejected,
required headers, unsupported methods and the Allow header, ignored auth) over the examples,
fuzzing and stateful phases, with valid credentials (see tests/aisp_hub/contract_world.py); the
coverage phase's cases go to a live server (tests/contract/live_cli.py).
Each response is also validated by openapi-core against the spec file, independently of
Schemathesis' validator.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from openapi_core import OpenAPI

from agentyard.aisp import SURFACE
from tests.aisp_hub.contract_world import aisp_schema, hub_world  # noqa: F401  (fixtures)
from tests.kit.contract import openapi_of, validate_response

schema = schemathesis.pytest.from_fixture("aisp_schema")


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    return openapi_of(SURFACE)


@schema.parametrize()
def test_aisp_hub_contract(case: schemathesis.Case, openapi: Any) -> None:
    response = case.call_and_validate()
    validate_response(SURFACE, openapi, case, response)
