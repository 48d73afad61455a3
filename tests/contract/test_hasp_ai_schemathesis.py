"""Schemathesis fuzzes every operation of specs/hasp-ai.yaml against the app.

Every default check runs, with a real organization's all-scope key (the BAA accepted) as the
`ApiKey` credential. A `map_case` hook keeps schema-valid inference requests realistic where
the spec states rules in prose (a forced tool must be one of `tools`; tool descriptions are
plain text, since PHI there is refused by design). Responses are also validated by openapi-core.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from openapi_core import OpenAPI
from schemathesis.core.parameters import ParameterLocation

from agentyard.core import keys
from agentyard.core.store import connection
from agentyard.hasp import SURFACE, baa
from agentyard.hasp.auth import SCOPES, Caller
from agentyard.phi.guard import get_guard
from tests.kit.contract import (
    NEGATIVE_DATA_REJECTION,
    config,
    generation,
    load_schema,
    openapi_of,
    positive,
    validate_response,
)
from tests.kit.tenants import make_key, tenant_name

MAX_EXAMPLES = 10  # bounded: the whole contract run stays within minutes on two cores
# Inference examples are the costly ones (a PHI scan each, deep bodies to generate): fewer here,
# and no coverage phase (building its boundary cases for these bodies takes a minute); the live
# CLI run sends both, and benchmarks/fuzz.sh many more.
INFERENCE_EXAMPLES = 6
MODELS = ["claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-4-6"]


def realistic(case: schemathesis.Case) -> schemathesis.Case:
    op = case.operation.definition.raw.get("operationId")
    if case.query and positive(case, ParameterLocation.QUERY):
        case.query.pop("cursor", None)  # only the server's own cursors are valid
    body = case.body if positive(case, ParameterLocation.BODY) else None
    if op in ("createMessage", "countMessageTokens") and isinstance(body, dict):
        tools = body.get("tools") or []
        for i, tool in enumerate(tools):
            tool["name"] = f"tool_{i}"
            if "description" in tool:
                tool["description"] = "Looks something up."
        # Only custom tools (with an input_schema) can be forced on the offline provider.
        custom = [t for t in tools if "input_schema" in t]
        choice = body.get("tool_choice")
        if isinstance(choice, dict):
            if choice.get("type") == "tool":
                if custom:
                    choice["name"] = custom[0]["name"]
                else:
                    choice.clear()
                    choice["type"] = "auto"
            elif choice.get("type") == "any" and not custom:
                choice["type"] = "auto"
        if body.get("model") not in MODELS:
            body["model"] = MODELS[len(str(body.get("model"))) % 2]
    if body is not None:
        case.body = body
    return case


@pytest.fixture(scope="module")
def hasp_key(app) -> str:
    minted = make_key(SURFACE, tenant_name("contract"), name="contract", scopes=list(SCOPES))
    with connection():
        key = keys.ApiKey.get_by_id(minted.id)
        body = {
            "version": baa.VERSION,
            "signer_name": "Contract Test",
            "signer_title": "CI",
            "signer_email": "ci@example.org",
        }
        baa.accept(Caller(key.tenant, key), body)
    return minted.secret


@pytest.fixture(scope="module")
def hasp_schema(app, hasp_key):
    # Start the PHI scanners now (a served app does it at start, `Surface.warm`), not inside
    # the first inference request's read timeout.
    get_guard()
    settings = config(
        auth={"ApiKey": {"api_key": hasp_key}},
        max_examples=MAX_EXAMPLES,
        checks={
            # Documented refusals of schema-valid requests: no BAA/credits (402), PHI
            # blocked or a missing scope (403), an unknown model (404), a webhook URL
            # that resolves to a private address (422).
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "402", "403", "404", "409", "422", "429"]
            },
            "negative_data_rejection": NEGATIVE_DATA_REJECTION,
        },
        operations=[
            {
                "include-operation-id": op,
                "generation": generation(INFERENCE_EXAMPLES),
                "phases": {"coverage": {"enabled": False}},
            }
            for op in ("createMessage", "countMessageTokens")
        ],
    )
    schema = load_schema(app, SURFACE, settings)

    @schema.hook
    def map_case(context: schemathesis.HookContext, case: schemathesis.Case):
        return realistic(case)

    return schema


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    return openapi_of(SURFACE)


schema = schemathesis.pytest.from_fixture("hasp_schema")


@schema.parametrize()
def test_hasp_ai_contract(case: schemathesis.Case, openapi: Any) -> None:
    response = case.call_and_validate()
    validate_response(SURFACE, openapi, case, response)
