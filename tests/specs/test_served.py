"""The served document: the spec plus the limits every surface enforces, written into each schema.

What validates requests (Connexion's document) and what integrators download (`openapi.json`,
`agentyard specs export`) are the same `document.served(spec)`; these tests pin the transform.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import httpx
import pytest
import yaml
from openapi_spec_validator import validate

from agentyard import surfaces
from agentyard.specs import document

INT64 = {"minimum": -(2**63), "maximum": 2**63 - 1}


def write_spec(tmp_path: Path, text: str) -> Path:
    spec = tmp_path / "s.yaml"
    spec.write_text(textwrap.dedent(text))
    return spec


SMALL = """\
openapi: 3.0.3
info: {title: t, version: '1', description: "About t."}
paths:
  /a/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string, maxLength: 9}}
    post:
      parameters:
        - {name: n, in: query, schema: {type: integer, minimum: 1}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                example: {type: string}
                default: {type: integer}
                tags: {type: array, items: {type: string, format: date-time}}
                any: {nullable: true}
                free: {type: object, additionalProperties: true}
                map: {type: object, additionalProperties: {type: integer, format: int32}}
                kind: {type: string, enum: [a, b]}
                id: {type: string, pattern: "^[a-z]+$"}
                file: {type: string, format: binary}
                bounded: {type: integer, minimum: 0, maximum: 9}
              example: {example: "x", tags: ["2026-01-01T00:00:00Z"]}
      responses:
        '200':
          description: ok
          headers:
            Retry-After: {schema: {type: integer}}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Out'}
components:
  schemas:
    Out:
      allOf:
        - {type: object, properties: {name: {type: string, default: "n"}}}
      example: {name: {type: string}}
"""


def test_plain_strings_exclude_nul_and_unbounded_integers_are_int64(tmp_path: Path) -> None:
    doc = document.served(write_spec(tmp_path, SMALL))
    op = doc["paths"]["/a/{id}"]["post"]
    props = op["requestBody"]["content"]["application/json"]["schema"]["properties"]
    nul = document.NO_NUL_PATTERN
    assert doc["paths"]["/a/{id}"]["parameters"][0]["schema"] == {
        "type": "string",
        "maxLength": 9,
        "pattern": nul,
    }
    assert op["parameters"][0]["schema"] == {
        "type": "integer",
        "format": "int64",
        "minimum": 1,  # an authored bound is kept
        "maximum": INT64["maximum"],
    }
    # Properties named like keywords are schemas all the same.
    assert props["example"] == {"type": "string", "pattern": nul}
    assert props["default"] == {"type": "integer", "format": "int64", **INT64}
    assert props["tags"]["items"] == {"type": "string", "format": "date-time", "pattern": nul}
    assert props["map"]["additionalProperties"] == {
        "type": "integer",
        "format": "int32",
        "minimum": -(2**31),
        "maximum": 2**31 - 1,
    }
    # Free-form values, enums, own patterns, raw bytes and bounded integers are left alone.
    assert props["any"] == {"nullable": True}
    assert props["free"] == {"type": "object", "additionalProperties": True}
    assert props["kind"] == {"type": "string", "enum": ["a", "b"]}
    assert props["id"] == {"type": "string", "pattern": "^[a-z]+$"}
    assert props["file"] == {"type": "string", "format": "binary"}
    assert props["bounded"] == {"type": "integer", "minimum": 0, "maximum": 9}
    # Headers, components and allOf branches too; examples and defaults are data, not schemas.
    headers = op["responses"]["200"]["headers"]
    assert headers["Retry-After"]["schema"] == {"type": "integer", "format": "int64", **INT64}
    out = doc["components"]["schemas"]["Out"]
    assert out["allOf"][0]["properties"]["name"] == {
        "type": "string",
        "pattern": nul,
        "default": "n",
    }
    assert out["example"] == {"name": {"type": "string"}}
    assert op["requestBody"]["content"]["application/json"]["schema"]["example"] == {
        "example": "x",
        "tags": ["2026-01-01T00:00:00Z"],
    }


def test_the_rules_are_stated_once_in_the_description(tmp_path: Path) -> None:
    doc = document.served(write_spec(tmp_path, SMALL))
    description = doc["info"]["description"]
    assert description.startswith("About t.\n\n" + document.LIMITS_HEADING)
    assert document.NO_NUL_PATTERN in description and str(2**63 - 1) in description
    assert "same key twice" in description  # the guard's rule (core.http_guard)
    assert document.declare_limits(doc) == doc  # applying it again changes nothing


def test_served_is_parsed_once_and_callers_cannot_change_it(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, SMALL)
    first = document.served(spec)
    first["paths"].clear()  # Connexion mutates what it is given
    assert document.served(spec)["paths"]
    before = document._served.cache_info().misses
    document.served(spec)
    assert document._served.cache_info().misses == before


@pytest.mark.parametrize("name", sorted(surfaces.SURFACES))
def test_every_spec_is_served_with_the_limits(name: str) -> None:
    spec = surfaces.get(name).spec
    doc = document.served(spec)
    validate(doc)  # still a valid OpenAPI 3.0 document
    for schema in document.schemas_in(doc):
        if schema.get("type") == "string" and "enum" not in schema:
            assert "pattern" in schema or schema.get("format") == "binary", schema
        if schema.get("type") == "integer":
            assert "minimum" in schema and "maximum" in schema, schema
    # The published document is the served one, less wiring keys and with its own servers.
    public = document.public(spec)
    assert "x-openapi-router-controller" not in json.dumps(public)
    assert public["paths"].keys() == doc["paths"].keys()
    assert public["components"]["schemas"] == document._public(doc["components"]["schemas"])


@pytest.mark.parametrize("name", sorted(surfaces.SURFACES))
def test_the_server_publishes_what_it_validates_with(name: str, server: str) -> None:
    s = surfaces.get(name)
    served = httpx.get(f"{server}{s.mount}/openapi.json").json()
    routing = s.tenant_routing  # served per tenant: the server URL has the tenant as a variable
    expected = document.published(
        s.spec,
        server + s.mount + (f"/{{{routing.variable}}}" if routing else ""),
        variables=routing.server_variables() if routing else None,
    )
    assert served == json.loads(document.to_json(expected))
    assert document.LIMITS_HEADING in served["info"]["description"]
    assert yaml.safe_load(httpx.get(f"{server}{s.mount}/openapi.yaml").text) == served
    ui = httpx.get(f"{server}{s.mount}/ui/")
    assert ui.status_code == 200 and "swagger" in ui.text.lower()
