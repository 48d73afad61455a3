"""OpenAPI documents: load a spec, declare the limits every surface enforces, publish it.

`served(spec)` is the document the server validates requests with: the spec file as written
plus two rules stated once for every schema (see `declare_limits`): plain strings may not hold
U+0000, unbounded integers are signed 64-bit. Connexion is given this document, and the published
one is the same document (local `$ref`s kept, so generators see named schemas) less agentyard's
internal wiring keys and with `servers` replaced. The server's `openapi.json|yaml` and
`agentyard specs export` both come from `published()` and the two serializers below, so what
integrators download is exactly what validates their requests.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

# libyaml's parser when PyYAML was built with it (the wheels are): ~7x faster on the specs,
# which every start, CLI command and codegen run loads
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _SpecLoader(_SafeBase):  # type: ignore[valid-type,misc]
    """Safe YAML without implicit timestamps: `2026-04-06` stays the string the JSON has."""


_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _SpecDumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks, as a person writes descriptions."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_SpecDumper.add_representer(str, _str)


def load(path: Path) -> dict[str, Any]:
    """The spec at `path` as plain JSON-compatible data."""
    with path.open(encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=_SpecLoader)  # a SafeLoader subclass
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not an OpenAPI document")
    return data


# --- the limits every surface enforces, declared in every schema they apply to -------------

# A string without its own `pattern` or `enum` (and not raw bytes) gets this one: no U+0000.
# PostgreSQL cannot store NUL in text, so no typed string may carry it; a spec that writes its
# own pattern must exclude NUL in it (tests/specs/test_nul_patterns.py checks every one).
NO_NUL_PATTERN = "^[^\\u0000]*$"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

LIMITS_HEADING = "## Text, integer and JSON limits"
LIMITS_DESCRIPTION = f"""{LIMITS_HEADING}
These rules hold for every operation in this document; the first two are written into each
schema they apply to, so that what is published here is exactly what the server validates:

- **No U+0000 in text.** Every string that has no `pattern` or `enum` of its own carries the
  pattern `{NO_NUL_PATTERN}`, and every `pattern` written here excludes U+0000 (NUL) too. A
  string field, parameter or header holding NUL breaks its schema and is refused like any other
  invalid value, before anything is written; so is a path or query string holding `%00`.
- **Integers are signed 64-bit.** Every integer without bounds of its own is `format: int64`
  with `minimum: {INT64_MIN}` and `maximum: {INT64_MAX}` (a bound written
  here is kept, the missing one added); a value outside them is refused like any other invalid
  value.
- **One value per key.** A JSON body holding an object with the same key twice, at any depth
  (`{{"name": "a", "name": "b"}}`), is malformed: refused with 400 before anything is written,
  as are invalid UTF-8, `NaN`/`Infinity`, numbers out of range, integers of more than 4300
  digits and nesting deeper than 64 levels.

Free-form JSON values (objects documented as arbitrary JSON, and values of any type) are not
typed text or integers: they are stored and returned exactly as sent, strings holding U+0000
(the JSON escape `\\u0000`) and integers beyond 64 bits (up to 4300 digits) included.
"""


def schemas_in(node: Any, is_schema: bool = False) -> Iterator[dict[str, Any]]:
    """Every schema object in `node` (a document or part of one), outermost first.

    Schemas are found where OpenAPI 3.0 puts them (`components.schemas`, any `schema`, and a
    schema's `properties`, `items`, `additionalProperties`, `allOf`/`anyOf`/`oneOf`, `not`);
    examples, defaults and enums are data, never schemas, and are not entered.
    """
    if isinstance(node, list):
        for item in node:
            yield from schemas_in(item, is_schema)
        return
    if not isinstance(node, dict):
        return
    if not is_schema:
        for key, value in node.items():
            if key in ("example", "examples") or key.startswith("x-"):
                continue
            if key == "schema":
                yield from schemas_in(value, True)
            elif key == "schemas" and isinstance(value, dict):  # components.schemas
                for schema in value.values():
                    yield from schemas_in(schema, True)
            else:
                yield from schemas_in(value, False)
        return
    if "$ref" in node:
        return
    yield node
    for key in ("items", "not", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from schemas_in(node[key], True)
    for key in ("allOf", "anyOf", "oneOf"):
        for schema in node.get(key) or []:
            yield from schemas_in(schema, True)
    for schema in (node.get("properties") or {}).values():
        yield from schemas_in(schema, True)


def _set_after(schema: dict[str, Any], after: tuple[str, ...], key: str, value: Any) -> None:
    """Set `schema[key]`, placed after the last of `after` present (authored order kept)."""
    items = [(k, v) for k, v in schema.items() if k != key]
    at = max((i + 1 for i, (k, _) in enumerate(items) if k in after), default=len(items))
    items.insert(at, (key, value))
    schema.clear()
    schema.update(items)


_STRING_FACETS = ("type", "format", "minLength", "maxLength")


def _declare_schema_limits(schema: dict[str, Any]) -> None:
    kind = schema.get("type")
    if kind == "string":
        if "pattern" in schema or "enum" in schema or schema.get("format") == "binary":
            return
        _set_after(schema, _STRING_FACETS, "pattern", NO_NUL_PATTERN)
    elif kind == "integer":
        if "minimum" in schema and "maximum" in schema:
            return
        if "format" not in schema:
            _set_after(schema, ("type",), "format", "int64")
        low, high = (
            (INT32_MIN, INT32_MAX) if schema["format"] == "int32" else (INT64_MIN, INT64_MAX)
        )
        if "minimum" not in schema:
            _set_after(schema, ("type", "format"), "minimum", low)
        if "maximum" not in schema:
            _set_after(schema, ("type", "format", "minimum", "exclusiveMinimum"), "maximum", high)


def declare_limits(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of `doc` with the limits every surface enforces written into its schemas.

    Every `type: string` schema with no `pattern`, no `enum` and not `format: binary` gets
    `pattern: NO_NUL_PATTERN`; every `type: integer` schema missing a bound gets `format: int64`
    (unless it has a format) and the missing bound(s) of that format. `info.description` gets
    LIMITS_DESCRIPTION, which states these rules (and the request guard's) once. Applying it
    twice changes nothing.
    """
    out = copy.deepcopy(doc)
    for schema in schemas_in(out):
        _declare_schema_limits(schema)
    info = out.setdefault("info", {})
    description = str(info.get("description") or "").rstrip("\n")
    if LIMITS_HEADING not in description:
        info["description"] = (description + "\n\n" if description else "") + LIMITS_DESCRIPTION
    return out


@functools.cache
def _served(spec: Path, mtime_ns: int) -> dict[str, Any]:
    return declare_limits(load(spec))


def served(spec: Path) -> dict[str, Any]:
    """The document the server validates requests with: the spec with `declare_limits` applied.

    Each spec file is read and transformed once per process; every call returns a fresh copy,
    so a caller (Connexion mutates what it is given) cannot change what the next one gets.
    """
    path = spec.resolve()
    return copy.deepcopy(_served(path, path.stat().st_mtime_ns))


def external_refs(node: Any, where: str = "#") -> list[str]:
    """Every `$ref` in `node` that points outside the document, as 'location -> ref'."""
    found: list[str] = []
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            found.append(f"{where} -> {ref}")
        for key, value in node.items():
            found += external_refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += external_refs(value, f"{where}/{i}")
    return found


# Connexion wiring (which Python function serves what): meaningless to integrators.
INTERNAL_KEYS = {"x-openapi-router-controller", "x-body-name"}


def _public(node: Any) -> Any:
    """`node` without agentyard's internal wiring keys."""
    if isinstance(node, dict):
        return {
            k: _public(v)
            for k, v in node.items()
            if k not in INTERNAL_KEYS and not (k.startswith("x-") and k.endswith("Func"))
        }
    if isinstance(node, list):
        return [_public(v) for v in node]
    return node


def public(spec: Path) -> dict[str, Any]:
    """The served document as integrators get it, less the keys that wire operations to Python
    functions.

    Raises ValueError when the spec refers to another file: a published document must be
    self-contained.
    """
    doc = _public(served(spec))
    outside = external_refs(doc)
    if outside:
        raise ValueError(f"{spec.name} has external $ref(s): {', '.join(outside)}")
    return doc


def with_servers(
    doc: dict[str, Any],
    server_url: str,
    description: str = "agentyard",
    variables: dict[str, Any] | None = None,
) -> dict:
    """`doc` with `servers` set to `server_url` (placed after `info`, authored order kept), with
    its `variables` when the URL has some (a surface served per tenant)."""
    server: dict[str, Any] = {"url": server_url, "description": description}
    if variables:
        server["variables"] = variables
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "servers":
            continue
        out[key] = value
        if key == "info":
            out["servers"] = [server]
    out.setdefault("servers", [server])
    return out


def published(
    spec: Path,
    server_url: str,
    description: str = "agentyard",
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The document integrators download: `public(spec)` with `servers` = `server_url`, the
    same document (`served(spec)`) the server validates requests with."""
    return with_servers(public(spec), server_url, description, variables)


def to_json(doc: dict[str, Any]) -> str:
    """Deterministic JSON text of a document."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def to_yaml(doc: dict[str, Any]) -> str:
    """Deterministic YAML text of a document (authored key order)."""
    return yaml.dump(doc, Dumper=_SpecDumper, sort_keys=False, allow_unicode=True, width=100)
