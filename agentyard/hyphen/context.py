"""Hyphen's context references and templates, resolved against a run's context.

- `@input.x`, `@item` (a foreach's current item, whatever its `item_variable_name`),
  `@<item_variable_name>.x`, `@<outputKey>`, `@__approved`, `@__comment`:
  a dotted path into the context (`a.b.0.c`, `a[0].c`; `.length` of a list, string or object).
- `@__run_id` is the run's id and `@now` the current time (RFC 3339 UTC).
- `"... {{ input.amount }} ..."`: string templates (the same paths without `@`).
- `orgconfig:api:<key>` / `orgconfig:db:<key>` anywhere in a string: the org's stored secret,
  resolved only at execution and marked secret, so the flows engine redacts it from the stored
  context, step records, traces and webhook payloads. A reference to a key that is not set
  fails the step.

A missing path resolves to null (conditions then see null).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from agentyard.core import clock
from agentyard.flows import Scope, StepFailed, lookup

PATH = re.compile(r"^[A-Za-z_$][\w$-]*(?:\.[\w$-]+|\[\d+\])*$")
TEMPLATE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
ORGCONFIG = re.compile(r"orgconfig:(api|db):([A-Za-z0-9_.\-]+)")
SPECIAL_ROOTS = frozenset({"now", "__run_id"})
_MISSING = object()

SecretLookup = Callable[[str, str, str], "str | None"]


def _default_secret(org_id: str, kind: str, key: str) -> str | None:
    import agentyard.hyphen.org_config as org_config  # H1's module: the org's encrypted config

    return org_config.secret(org_id, kind, key)


secret_lookup: list[SecretLookup] = [_default_secret]


def valid_path(path: str) -> bool:
    """Whether `path` (without `@`) is a well-formed reference."""
    return bool(PATH.match(path))


def root_of(path: str) -> str:
    """The first segment of a path (`input` of `input.a.b`)."""
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def normalise(path: str) -> str:
    """`a[0].b` -> `a.0.b`."""
    return re.sub(r"\[(\d+)\]", r".\1", path)


def value_at(path: str, data: Any, run_id: str = "") -> Any:
    """The value a reference path names in `data` (None when missing)."""
    path = normalise(path.strip())
    root, _, rest = path.partition(".")
    if root == "now" and "now" not in data:
        base: Any = clock.iso(clock.now())
    elif root == "__run_id":
        base = run_id
    else:
        return lookup(data, path)
    return lookup({"v": base}, f"v.{rest}") if rest else base


def has_path(path: str, data: Any) -> bool:
    """Whether the path names something present (even null) in `data`."""
    return lookup(data, normalise(path), _MISSING) is not _MISSING


def _text(value: Any) -> str:
    import json

    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _secret(scope: Scope, kind: str, key: str) -> str:
    value = secret_lookup[-1](scope.tenant_id, kind, key)
    if value is None:
        raise StepFailed(f"orgconfig:{kind}:{key} is not set for this org", code="missing_secret")
    scope.add_secret(value)
    return value


def resolve_string(value: str, scope: Scope) -> Any:
    """Resolve one string: a whole `@path`, orgconfig references, `{{ }}` templates."""
    if value.startswith("@") and valid_path(value[1:]):
        return value_at(value[1:], scope.data, scope.run_id)
    if "orgconfig:" in value:
        whole = ORGCONFIG.fullmatch(value)
        if whole:
            return _secret(scope, whole.group(1), whole.group(2))
        value = ORGCONFIG.sub(lambda m: _secret(scope, m.group(1), m.group(2)), value)
    if "{{" in value:
        return TEMPLATE.sub(lambda m: _text(value_at(m.group(1), scope.data, scope.run_id)), value)
    return value


def resolve(value: Any, scope: Scope) -> Any:
    """Hyphen's resolver for the flows engine: strings as above, recursively through objects
    and arrays."""
    if isinstance(value, str):
        return resolve_string(value, scope)
    if isinstance(value, dict):
        return {k: resolve(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, scope) for v in value]
    return value


def references(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every `@path` and `{{ path }}` reference in `value` as `(where, path)` pairs, where
    `where` is the JSON path inside `value` (for error messages)."""
    if isinstance(value, str):
        if value.startswith("@") and not value.startswith("@@"):
            yield where, value[1:]
        for m in TEMPLATE.finditer(value):
            yield where, m.group(1)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from references(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from references(v, f"{where}[{i}]")
