"""What a product's resolver sees (`Scope`), and the engine's default resolver and test.

A product's resolver turns a step's `props` into concrete values against the run context;
the default one understands `"@a.b.0.c"` (a path; `.length` of a list or string) and
`"{{ a.b }}"` string templates. A product's `test` decides a `when`; the default resolves it
and takes its truthiness.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agentyard.flows.secrets import Secrets

_MISSING = object()
TEMPLATE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


@dataclass
class Scope:
    """The context a step runs in: the run's data plus what its enclosing loops added."""

    data: dict[str, Any]
    run_id: str
    tenant_id: str
    secrets: Secrets = field(default_factory=Secrets)

    def add_secret(self, value: Any) -> None:
        """Mark a resolved value as secret: it is redacted from everything stored."""
        self.secrets.add(value)

    def child(self, **extra: Any) -> Scope:
        """A copy for a loop iteration: its writes stay in the iteration."""
        return Scope({**self.data, **extra}, self.run_id, self.tenant_id, self.secrets)


Resolver = Callable[[Any, Scope], Any]
Test = Callable[[Any, Scope], bool]


def lookup(data: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """The value at a dotted path (`a.b.0.c`, `items.length`), or `default`."""
    current: Any = data
    for part in path.split("."):
        if part == "length" and isinstance(current, list | str | dict):
            current = len(current)
        elif isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            index = int(part)
            if -len(current) <= index < len(current):
                current = current[index]
            else:
                return default
        else:
            return default
    return current


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def default_resolve(value: Any, scope: Scope) -> Any:
    """Resolve `@path` strings and `{{ path }}` templates, recursively through dicts/lists."""
    if isinstance(value, str):
        if value.startswith("@"):
            return lookup(scope.data, value[1:])
        if "{{" in value:
            return TEMPLATE.sub(lambda m: _text(lookup(scope.data, m.group(1))), value)
        return value
    if isinstance(value, dict):
        return {k: default_resolve(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [default_resolve(v, scope) for v in value]
    return value


def default_test(when: Any, scope: Scope) -> bool:
    """A `when` is true when its resolved value is truthy."""
    return bool(default_resolve(when, scope))
