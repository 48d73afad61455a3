"""An optional JSON request body (`requestBody.required: false`) may be left out.

Connexion refuses a missing optional body ("Request body must not be empty") unless its schema
is nullable; agentyard's validator map (`core.validators`) lets it through, as the specs
promise. Every such operation of every surface is asked once with a schema-valid path and
query, a valid key and no body at all: none answers that refusal. (Found by the schemathesis
CLI's stateful phase: `POST /hasp-studio/api/internal/traces/{trace_id}/replay` without a body.)
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis

from agentyard import surfaces
from agentyard.specs import document
from tests.kit.contract import first_valid_case
from tests.kit.tenants import caller_headers

REFUSAL = "Request body must not be empty"


def optional_bodies() -> list[tuple[str, str, str]]:
    """(surface, METHOD, path) of every operation whose JSON request body is optional."""
    found = []
    for name, surface in sorted(surfaces.SURFACES.items()):
        spec = document.load(surface.spec)
        shared = (spec.get("components") or {}).get("requestBodies") or {}
        for path, item in spec["paths"].items():
            for method, op in item.items():
                body = op.get("requestBody") if isinstance(op, dict) else None
                if body and "$ref" in body:
                    body = shared[body["$ref"].rsplit("/", 1)[-1]]
                if body and not body.get("required") and any("json" in m for m in body["content"]):
                    found.append((name, method.upper(), path))
    return found


OPTIONAL = optional_bodies()


def test_some_operation_has_an_optional_body() -> None:
    assert any(name == "hasp-studio" for name, _, _ in OPTIONAL), OPTIONAL


@pytest.mark.embedded_only  # Connexion's validation, whatever the store
@pytest.mark.parametrize(("name", "method", "path"), OPTIONAL)
def test_an_optional_body_may_be_left_out(name: str, method: str, path: str, app, server) -> None:
    surface = surfaces.get(name)
    headers = caller_headers(name)
    schema = schemathesis.openapi.from_asgi(f"{surface.mount}/openapi.json", app)
    case = first_valid_case(schema[path][method])
    response = httpx.request(
        method,
        server + surface.mount + case.formatted_path,
        params=case.query or None,
        headers=headers,
        timeout=30,
    )
    assert REFUSAL not in response.text, (response.status_code, response.text)
    assert response.status_code != 500, response.text
