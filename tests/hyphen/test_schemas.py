"""Schemas: JSON Schemas validated as schemas when stored; `get_schema` and `validate` for the
workflow engine (input validation on execute)."""

from __future__ import annotations

import pytest

from agentyard.core.errors import ApiError
from agentyard.core.store import connection
from agentyard.hyphen import schemas
from tests.hyphen.conftest import error, org_id

INVOICE = {
    "type": "object",
    "required": ["invoices"],
    "properties": {"invoices": {"type": "array", "items": {"$ref": "#/$defs/invoice"}}},
    "$defs": {
        "invoice": {
            "type": "object",
            "required": ["amount"],
            "properties": {"amount": {"type": "number"}},
        }
    },
}


def test_store_and_get_a_schema(http, other, org) -> None:
    r = http.post("/schemas", json={"name": "invoices", "schema": INVOICE})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["id"].startswith("sch-") and made["schema"] == INVOICE
    assert http.get(f"/schemas/{made['id']}").json() == made
    error(other.get(f"/schemas/{made['id']}"), 404)
    error(http.get("/schemas/sch-nothing"), 404)
    with connection():
        assert schemas.get_schema(org_id(org), made["id"]) == INVOICE
        with pytest.raises(ApiError) as missing:
            schemas.get_schema(org_id(org), "sch-nothing")
    assert missing.value.status == 404


@pytest.mark.parametrize(
    "schema, words",
    [
        ({"type": "objekt"}, "type"),
        ({"properties": {"a": {"minimum": "ten"}}}, "minimum"),
        ({"$ref": "https://example.com/schema.json"}, "outside"),
        ({"$schema": 7}, "valid JSON Schema"),
    ],
)
def test_invalid_schemas_are_refused(http, schema, words) -> None:
    body = error(http.post("/schemas", json={"schema": schema}), 400)
    assert words in body["message"]


def test_validate_names_the_failing_path() -> None:
    schemas.validate(INVOICE, {"invoices": [{"amount": 1}]})
    with pytest.raises(ApiError) as bad:
        schemas.validate(INVOICE, {"invoices": [{"amount": "1"}]})
    assert bad.value.status == 400 and "invoices/0/amount" in bad.value.message
