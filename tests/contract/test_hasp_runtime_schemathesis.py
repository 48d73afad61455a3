"""Schemathesis fuzzes every operation of specs/hasp-runtime.yaml against the app, at the org
runtime of an org with a published agent-callable workflow, with an API key of that org
holding `workflow:invoke`. Responses are also validated by openapi-core."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import schemathesis
from openapi_core import OpenAPI

from agentyard.core.store import connection
from agentyard.hasp.runtime import SURFACE
from agentyard.hasp.studio import bootstrap as studio_bootstrap
from tests.kit.contract import NEGATIVE_DATA_REJECTION, config, is_event_stream, openapi_of
from tests.kit.openapi_views import ReceivedResponse, SentRequest
from tests.kit.tenants import make_key

MAX_EXAMPLES = 10
ORG = f"contract-{secrets.token_hex(4)}"


@pytest.fixture(scope="module")
def runtime_schema(app):
    org = ORG
    with connection():
        studio_bootstrap.create_user(org, f"contract-{secrets.token_hex(4)}@example.org", "owner")
    key = make_key(SURFACE, org, scopes=["workflow:invoke"])
    settings = config(
        auth={"Bearer": {"bearer": key.secret}},
        max_examples=MAX_EXAMPLES,
        checks={
            # Documented refusals of schema-valid requests: unknown project/workflow slugs (404).
            "positive_data_acceptance": {"expected-statuses": ["2xx", "404", "429"]},
            "negative_data_rejection": NEGATIVE_DATA_REJECTION,
        },
    )
    return schemathesis.openapi.from_asgi(
        f"/hasp-runtime/{org}/openapi.json", app, config=schemathesis.Config.from_dict(settings)
    )


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    return openapi_of(SURFACE)


schema = schemathesis.pytest.from_fixture("runtime_schema")


@schema.parametrize()
def test_hasp_runtime_contract(case: schemathesis.Case, openapi: Any) -> None:
    response = case.call_and_validate()
    if case.method.upper() != case.operation.method.upper():
        return  # 405s: judged by Schemathesis' own checks
    if is_event_stream(response.headers.get("content-type", [""])[0]):
        return
    # the spec's server is `https://{org}.usehasp.run`; served at /hasp-runtime/{org}
    sent = SentRequest(response, mount=f"/hasp-runtime/{ORG}", host=f"https://{ORG}.usehasp.run")
    openapi.validate_response(sent, ReceivedResponse(response))
