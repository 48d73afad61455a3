"""Example values generated from JSON Schemas validate against them."""

from __future__ import annotations

import jsonschema
import pytest

from agentyard.llm.schema_values import example_value

SCHEMAS = {
    "empty": {"type": "object"},
    "scalars": {
        "type": "object",
        "properties": {
            "s": {"type": "string", "minLength": 12, "maxLength": 12},
            "i": {"type": "integer", "minimum": 5, "maximum": 7, "multipleOf": 3},
            "n": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "neg": {"type": "integer", "maximum": -10},
            "b": {"type": "boolean"},
            "z": {"type": "null"},
            "e": {"enum": ["red", "green"]},
            "c": {"const": 42},
        },
        "required": ["s", "i", "n", "neg", "b", "z", "e", "c"],
    },
    "formats_and_patterns": {
        "type": "object",
        "properties": {
            "email": {"type": "string", "format": "email"},
            "when": {"type": "string", "format": "date-time"},
            "id": {"type": "string", "format": "uuid"},
            "zip": {"type": "string", "pattern": "^[0-9]{5}$"},
            "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
        },
        "required": ["email", "when", "id", "zip", "code"],
    },
    "arrays": {
        "type": "object",
        "properties": {
            "tags": {
                "type": "array",
                "items": {"type": "string", "pattern": "^[a-z]+$"},
                "minItems": 3,
                "uniqueItems": True,
            },
            "pair": {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "items": False,
            },
            "none": {"type": "array", "maxItems": 0},
            "colors": {
                "type": "array",
                "items": {"enum": ["r", "g", "b"]},
                "minItems": 3,
                "uniqueItems": True,
            },
        },
        "required": ["tags", "pair", "none", "colors"],
    },
    "nested_refs_and_combinators": {
        "type": "object",
        "$defs": {
            "point": {
                "type": "object",
                "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                "required": ["x", "y"],
                "additionalProperties": False,
            }
        },
        "properties": {
            "origin": {"$ref": "#/$defs/point"},
            "path": {"type": "array", "items": {"$ref": "#/$defs/point"}, "minItems": 2},
            "either": {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 0}]},
            "maybe": {"anyOf": [{"type": "string", "minLength": 50}, {"type": "null"}]},
            "both": {
                "allOf": [
                    {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                    {"properties": {"b": {"type": "integer", "minimum": 10}}, "required": ["b"]},
                ]
            },
            "nullable": {"type": ["string", "null"]},
            "map": {
                "type": "object",
                "additionalProperties": {"type": "integer"},
                "minProperties": 2,
            },
        },
        "required": ["origin", "path", "either", "maybe", "both", "nullable", "map"],
        "additionalProperties": False,
    },
    "defaults_and_examples": {
        "type": "object",
        "properties": {
            "d": {"type": "integer", "default": 42},
            "bad_default": {"type": "integer", "minimum": 10, "default": 1},
            "x": {"type": "string", "examples": ["hello"]},
        },
        "required": ["d", "bad_default", "x"],
    },
    "draft7_definitions": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {"name": {"type": "string", "maxLength": 4}},
        "type": "object",
        "properties": {"n": {"$ref": "#/definitions/name"}},
        "required": ["n"],
    },
}


@pytest.mark.parametrize("name", SCHEMAS)
def test_example_validates(name):
    schema = SCHEMAS[name]
    value = example_value(schema)
    cls = jsonschema.validators.validator_for(schema)
    cls(schema, format_checker=cls.FORMAT_CHECKER).validate(value)
    assert example_value(schema) == value  # deterministic


def test_every_defined_property_is_filled_and_defaults_are_used():
    value = example_value(SCHEMAS["defaults_and_examples"])
    assert value["d"] == 42 and value["x"] == "hello" and value["bad_default"] >= 10
    scalars = example_value(SCHEMAS["scalars"])
    assert scalars["e"] == "red" and scalars["c"] == 42 and scalars["i"] == 6
