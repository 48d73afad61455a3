"""Stored JSON Schemas of an org: checked as schemas when stored, used to validate a workflow's
`input` on execute.

Drafts: the one the schema's `$schema` names (4, 6, 7, 2019-09, 2020-12), 2020-12 when it
names none. `$ref`s must stay inside the schema (`#...`): validating never fetches anything.
"""

from __future__ import annotations

import uuid
from typing import Any

from jsonschema import Draft202012Validator, exceptions, validators

from agentyard.core import clock
from agentyard.core.errors import invalid
from agentyard.core.store import write
from agentyard.core.tenancy import find_in_tenant
from agentyard.hyphen.models import StoredSchema

WHAT = "schema"


def _remote_refs(node: Any, path: str = "") -> str | None:
    """The path of the first `$ref`/`$dynamicRef` that leaves the schema, if any."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}/{key}"
            if key in ("$ref", "$dynamicRef", "$recursiveRef") and (
                not isinstance(value, str) or not value.startswith("#")
            ):
                return here
            found = _remote_refs(value, here)
            if found:
                return found
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found = _remote_refs(value, f"{path}/{i}")
            if found:
                return found
    return None


def validator(schema: dict[str, Any]) -> Any:
    """A jsonschema validator for `schema` (checked: 400 `invalid` when it is not a schema)."""
    try:
        cls = validators.validator_for(schema, default=Draft202012Validator)
        cls.check_schema(schema)
    except exceptions.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise invalid(
            f"schema is not a valid JSON Schema: at {where}: {exc.message[:300]} "
            f"(keyword '{exc.validator}')"
        ) from None
    except Exception as exc:  # a `$schema` of the wrong type, a pathological document
        raise invalid(f"schema is not a valid JSON Schema: {str(exc)[:300]}") from None
    remote = _remote_refs(schema)
    if remote:
        raise invalid(f"schema: {remote} points outside the schema; only '#...' refs are allowed")
    return cls(schema)


def _view(row: StoredSchema) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "schema": row.schema,
        "created_at": clock.iso(row.created_at),
    }


def create(
    org_id: str, schema: dict[str, Any], name: str | None = None, description: str | None = None
) -> dict[str, Any]:
    """Store `schema` (checked first) for the org; its view."""
    validator(schema)
    with write():
        row = StoredSchema.create(
            id=f"sch-{uuid.uuid4()}",
            org=org_id,
            name=name,
            description=description,
            schema=schema,
            created_at=clock.now(),
        )
    return _view(row)


def view(org_id: str, schema_id: str) -> dict[str, Any]:
    """The stored schema's view; 404 outside the org."""
    return _view(find_in_tenant(StoredSchema, schema_id, org_id, what=WHAT, tenant_field="org"))


def get_schema(org_id: str, schema_id: str) -> dict[str, Any]:
    """The JSON Schema stored as `schema_id` in the org; not_found otherwise."""
    return dict(
        find_in_tenant(StoredSchema, schema_id, org_id, what=WHAT, tenant_field="org").schema
    )


def validate(schema: dict[str, Any], value: Any) -> None:
    """400 naming the failing path when `value` does not validate against `schema`."""
    error = next(iter(validator(schema).iter_errors(value)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise invalid(f"input does not match the schema at {where}: {error.message[:300]}")
