"""Which methods each documented path allows, for correct `Allow` headers on 405; and
mounts that route every path, line feeds included.

Connexion routes one method per route, so its 405 names only the first route that matched
the path; this index answers with every method the spec documents for the path.

A surface is mounted under its prefix with Starlette's `{path:path}` convertor, whose `.*`
stops at a line feed: `/hyphen/oauth/a%0Ab/app-credentials` matched no mount and answered a
bare 404 where the operation documents 400 for a bad parameter. The `path` convertor is
registered again with a pattern that spans line feeds, so such a request reaches its route
and is validated like any other value (a path *ending* in one is refused by the body guard).
"""

from __future__ import annotations

import re

from starlette.convertors import PathConvertor, register_url_convertor


class AnyPathConvertor(PathConvertor):
    """Starlette's `path` convertor, line feeds included."""

    regex = "(?s:.*)"


register_url_convertor("path", AnyPathConvertor())

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

_INDEX: dict[str, list[tuple[re.Pattern[str], set[str], bool]]] = {}  # pattern, methods, literal


def register_spec(base_path: str, spec: dict) -> None:
    """Index every path of a loaded spec served under `base_path` (replacing any before)."""
    entries = []
    for path, item in (spec.get("paths") or {}).items():
        methods = {m.upper() for m in item if m in METHODS}
        pattern = re.escape(base_path + path)
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        entries.append((re.compile(pattern + "/?"), methods, "{" not in path))
    _INDEX[base_path] = entries


def register_path(base_path: str, path: str, methods: set[str]) -> None:
    """Index a route served beside the spec's paths (such as the published documents)."""
    entry = (re.compile(re.escape(base_path + path) + "/?"), {m.upper() for m in methods}, True)
    _INDEX.setdefault(base_path, []).append(entry)


def allowed(path: str) -> list[str]:
    """The documented methods for a concrete request path (empty when none).

    A literal path (`/v1/app/list`) wins over a templated one that also matches it
    (`/v1/app/{app_id}`), as in routing.
    """
    matches = [
        (methods, literal)
        for pattern, methods, literal in (e for entries in _INDEX.values() for e in entries)
        if pattern.fullmatch(path)
    ]
    if any(literal for _, literal in matches):
        matches = [m for m in matches if m[1]]
    return sorted({method for methods, _ in matches for method in methods})
