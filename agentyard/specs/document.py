"""OpenAPI documents: load a spec as written, and publish it with the servers of a deployment.

The published document is the spec file itself (local `$ref`s kept, so generators see named
schemas) with `servers` replaced. The server's `openapi.json|yaml` and `agentyard specs export`
both come from `published()` and the two serializers below, so they cannot drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


class _SpecLoader(yaml.SafeLoader):
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
    """The spec as integrators get it, less the keys that wire operations to Python functions.

    Raises ValueError when the spec refers to another file: a published document must be
    self-contained.
    """
    doc = _public(load(spec))
    outside = external_refs(doc)
    if outside:
        raise ValueError(f"{spec.name} has external $ref(s): {', '.join(outside)}")
    return doc


def with_servers(doc: dict[str, Any], server_url: str, description: str = "agentyard") -> dict:
    """`doc` with `servers` set to `server_url` (placed after `info`, authored order kept)."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "servers":
            continue
        out[key] = value
        if key == "info":
            out["servers"] = [{"url": server_url, "description": description}]
    out.setdefault("servers", [{"url": server_url, "description": description}])
    return out


def published(spec: Path, server_url: str, description: str = "agentyard") -> dict[str, Any]:
    """The document integrators download: `public(spec)` with `servers` = `server_url`."""
    return with_servers(public(spec), server_url, description)


def to_json(doc: dict[str, Any]) -> str:
    """Deterministic JSON text of a document."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def to_yaml(doc: dict[str, Any]) -> str:
    """Deterministic YAML text of a document (authored key order)."""
    return yaml.dump(doc, Dumper=_SpecDumper, sort_keys=False, allow_unicode=True, width=100)
