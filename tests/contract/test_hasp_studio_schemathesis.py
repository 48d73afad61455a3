"""Schemathesis fuzzes the served operations of specs/hasp-studio.yaml against the app.

Every default check runs with an org owner's personal access token as the `Bearer`
credential (the cookie scheme is exercised by tests/hasp_studio); an operation still answering
codegen's 501 scaffold would be left out (`without_scaffolds`; there is none).
Responses are also validated by openapi-core.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from openapi_core import OpenAPI
from schemathesis.core.parameters import ParameterLocation

from agentyard.hasp.studio import SURFACE
from tests.kit.contract import (
    NEGATIVE_DATA_REJECTION,
    config,
    load_schema,
    openapi_of,
    positive,
    validate_response,
    without_scaffolds,
)
from tests.kit.tenants import studio_owner_token

MAX_EXAMPLES = 10


@pytest.fixture(scope="module")
def studio_schema(app):
    settings = config(
        auth={"Bearer": {"bearer": studio_owner_token("contract")}},
        max_examples=MAX_EXAMPLES,
        checks={
            # Documented refusals of schema-valid requests: bad credentials at sign-in (401),
            # a role below the least role (403), unknown ids (404), taken slugs, archived
            # projects and the last owner (409), rules the schema cannot state (422), throttling.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]
            },
            "negative_data_rejection": NEGATIVE_DATA_REJECTION,
        },
    )
    schema = load_schema(app, SURFACE, without_scaffolds(SURFACE, settings))

    @schema.hook
    def map_case(context: schemathesis.HookContext, case: schemathesis.Case):
        if case.query and positive(case, ParameterLocation.QUERY):
            case.query.pop("cursor", None)  # only the server's own cursors are valid
        return case

    return schema


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    return openapi_of(SURFACE)


schema = schemathesis.pytest.from_fixture("studio_schema")


@schema.parametrize()
def test_hasp_studio_contract(case: schemathesis.Case, openapi: Any) -> None:
    response = case.call_and_validate()
    validate_response(SURFACE, openapi, case, response)
