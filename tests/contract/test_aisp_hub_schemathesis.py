"""Schemathesis fuzzes every operation of specs/aisp-hub.yaml against the app.

Every default check runs (server errors, status codes, content types, headers and bodies
conforming to the spec, schema-valid requests accepted and schema-invalid ones rejected,
required headers, unsupported methods and the Allow header, ignored auth) over the examples,
coverage and fuzzing phases, with valid credentials (see conftest.py). Each response is also
validated by openapi-core against the spec file, independently of Schemathesis' validator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from openapi_core import OpenAPI

from tests.contract.openapi_views import ReceivedResponse, SentRequest

SPEC = Path(__file__).resolve().parents[2] / "specs" / "aisp-hub.yaml"
# The spec's server URL; agentyard serves the surface under HUB instead.
SPEC_HOST = "https://hub.aisp.dev"
HUB = "/aisp-hub"

schema = schemathesis.pytest.from_fixture("aisp_schema")


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    return OpenAPI.from_file_path(str(SPEC))


def validate_with_openapi_core(
    openapi: OpenAPI, case: schemathesis.Case, response: schemathesis.Response
) -> None:
    if case.method.upper() != case.operation.method.upper():
        # A probe with a method the path does not document: the spec has no operation to
        # validate against; Schemathesis' unsupported_method and allow_header_conformance
        # checks judge these responses (405 with a correct Allow header).
        return
    if response.headers.get("content-type", [""])[0].startswith("text/event-stream"):
        return  # openapi-core does not parse event streams; Schemathesis checked each event
    sent = SentRequest(response, mount=HUB, host=SPEC_HOST)
    openapi.validate_response(sent, ReceivedResponse(response))


@schema.parametrize()
def test_aisp_hub_contract(case: schemathesis.Case, openapi: Any) -> None:
    response = case.call_and_validate()
    validate_with_openapi_core(openapi, case, response)
