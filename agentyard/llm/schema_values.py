"""Deterministic example values that validate against a JSON Schema (for offline tool use).

Handles `type` (also lists), `const`, `enum`, `default`/`examples` (when they validate),
`properties`/`required`/`additionalProperties`/`min|maxProperties`, `items`/`prefixItems`/
`min|maxItems`/`uniqueItems`, string `min|maxLength`/`format`/`pattern` (from a list of
candidates), numeric bounds and `multipleOf`, `allOf`/`anyOf`/`oneOf` and local `$ref`s.
Every property the schema defines is filled in, required or not.
"""

from __future__ import annotations

import math
from typing import Any

try:  # jsonschema arrives with connexion; without it we skip the final check
    import jsonschema
except ImportError:  # pragma: no cover
    jsonschema = None

_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00Z",
    "duration": "P1D",
    "email": "offline@example.com",
    "idn-email": "offline@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uri": "https://example.com/offline",
    "iri": "https://example.com/offline",
    "uri-reference": "https://example.com/offline",
    "url": "https://example.com/offline",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "regex": ".*",
    "json-pointer": "/offline",
}
_PATTERN_CANDIDATES = [
    "offline", "a", "A", "0", "1", "abc", "ABC", "a1", "A1", "abc123", "x-1", "a_b", "a.b",
    "2024-01-01", "00:00", "+10000000000", "offline@example.com", "https://example.com",
    "AAA", "aaa", "000", "00000", "A0", "0a", "Aa", "aA", "-", "_", " ",
]  # fmt: skip
_MAX_DEPTH = 12


class _Generator:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def resolve(self, schema: Any) -> Any:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 32:
            ref = schema["$ref"]
            if not ref.startswith("#"):
                return {k: v for k, v in schema.items() if k != "$ref"}
            target: Any = self.root
            for part in [p for p in ref[1:].split("/") if p]:
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part, {}) if isinstance(target, dict) else {}
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **rest} if rest and isinstance(target, dict) else target
            seen += 1
        return schema

    def merge_all_of(self, schema: dict[str, Any]) -> dict[str, Any]:
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part = self.resolve(part)
            if not isinstance(part, dict):
                continue
            if "allOf" in part:
                part = self.merge_all_of(part)
            for key, value in part.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = sorted({*merged.get("required", []), *value})
                elif key not in merged:
                    merged[key] = value
        return merged

    def valid(self, value: Any, schema: Any) -> bool:
        if jsonschema is None:
            return True
        try:
            check = {**schema, "$defs": self.root.get("$defs", {})} if schema else schema
            if isinstance(check, dict) and "definitions" in self.root:
                check["definitions"] = self.root["definitions"]
            cls = jsonschema.validators.validator_for(self.root)
            return cls(check, format_checker=cls.FORMAT_CHECKER).is_valid(value)
        except Exception:  # an odd schema must not break the reply
            return False

    def value(self, schema: Any, name: str, depth: int = 0, avoid: tuple = ()) -> Any:
        schema = self.resolve(schema)
        if schema is True or schema == {} or schema is None:
            return f"offline-{name}" if name else "offline"
        if schema is False or not isinstance(schema, dict):
            return None
        if "allOf" in schema:
            schema = self.merge_all_of(schema)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return next((v for v in schema["enum"] if v not in avoid), schema["enum"][0])
        if (
            "default" in schema
            and schema["default"] not in avoid
            and self.valid(schema["default"], schema)
        ):
            return schema["default"]
        if (
            schema.get("examples")
            and schema["examples"][0] not in avoid
            and self.valid(schema["examples"][0], schema)
        ):
            return schema["examples"][0]
        for key in ("oneOf", "anyOf"):
            if key in schema:
                base = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf")}
                options = [self.resolve(o) for o in schema[key]]
                for i, option in enumerate(options):
                    branch = self.merge_all_of({**base, "allOf": [option]})
                    others = options[:i] + options[i + 1 :]
                    if key == "oneOf" and others and "not" not in branch:
                        branch["not"] = {"anyOf": others}
                    candidate = self.value(branch, name, depth + 1)
                    if self.valid(candidate, schema):
                        return candidate
                return self.value(self.merge_all_of({**base, "allOf": options[:1]}), name, depth)
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k != "null"] or ["null"]
            kind = kinds[0]
        if kind is None:
            if "properties" in schema or "required" in schema:
                kind = "object"
            elif "items" in schema or "prefixItems" in schema:
                kind = "array"
            elif any(k in schema for k in ("minimum", "maximum", "multipleOf")):
                kind = "number"
            else:
                kind = "string"
        if depth > _MAX_DEPTH:
            return {"object": {}, "array": [], "null": None}.get(kind, self.scalar(kind, schema))
        if kind == "object":
            return self.object(schema, depth)
        if kind == "array":
            return self.array(schema, name, depth)
        return self.scalar(kind, schema, name, avoid)

    def scalar(self, kind: str, schema: dict[str, Any], name: str = "", avoid: tuple = ()) -> Any:
        if kind == "null":
            return None
        if kind == "boolean":
            return True
        if kind in ("integer", "number"):
            return self.number(schema, integer=kind == "integer", avoid=avoid)
        return self.string(schema, name, avoid)

    def number(self, schema: dict[str, Any], *, integer: bool, avoid: tuple = ()) -> int | float:
        low, high = schema.get("minimum"), schema.get("maximum")
        xlow, xhigh = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if isinstance(xlow, bool):  # draft 4: a flag on minimum
            low, xlow = (None, low) if xlow else (low, None)
        if isinstance(xhigh, bool):
            high, xhigh = (None, high) if xhigh else (high, None)
        lower = next((v for v in (low, xlow) if v is not None), None)
        upper = next((v for v in (high, xhigh) if v is not None), None)
        seeds = [1, 0, lower, upper]
        if lower is not None and upper is not None:
            seeds.insert(0, (lower + upper) / 2)
        step = schema.get("multipleOf")
        nudge = step or (1 if integer else 0.5)
        candidates: list[float] = []
        for seed in (s for s in seeds if s is not None):
            if step:
                k = math.ceil(seed / step)
                candidates += [k * step, (k + 1) * step, (k - 1) * step, step]
            else:
                candidates += [seed, seed + nudge, seed - nudge]
        checked = {k: v for k, v in schema.items() if k not in ("default", "examples")}
        checked["type"] = "integer" if integer else "number"
        for value in candidates:
            if integer:
                value = math.ceil(value)
            elif float(value).is_integer():
                value = int(value)
            elif not step:
                value = round(value, 9)
            if value not in avoid and self.valid(value, checked):
                return value
        return math.ceil(candidates[0]) if integer else candidates[0]

    def string(self, schema: dict[str, Any], name: str, avoid: tuple = ()) -> str:
        low = schema.get("minLength", 0)
        high = schema.get("maxLength")
        fmt: Any = schema.get("format")  # any JSON value; unknown ones fall back
        base = _FORMATS.get(fmt, f"offline-{name}" if name else "offline")
        checked = {k: v for k, v in schema.items() if k not in ("default", "examples")}
        checked["type"] = "string"
        candidates = [base, *_PATTERN_CANDIDATES] if schema.get("pattern") else [base]
        fitted = []
        for text in candidates:
            if len(text) < low:
                text = text + text[-1:] * (low - len(text)) if text else "x" * low
            if high is not None and len(text) > high:
                text = text[:high]
            if text not in avoid and self.valid(text, checked):
                return text
            fitted.append(text)
        return fitted[0]

    def array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        prefix = schema.get("prefixItems") or (
            schema["items"] if isinstance(schema.get("items"), list) else []
        )
        items = schema.get("items") if isinstance(schema.get("items"), dict | bool) else {}
        low = schema.get("minItems", 0)
        high = schema.get("maxItems")
        count = max(low, len(prefix), 1)
        if high is not None:
            count = min(count, high)
        if items is False:
            count = min(count, len(prefix))
        out: list[Any] = []
        for i in range(count):
            sub = prefix[i] if i < len(prefix) else items
            label = f"{name}-{i + 1}" if name else f"item-{i + 1}"
            avoid = tuple(out) if schema.get("uniqueItems") else ()
            value = self.value(sub, label, depth + 1, avoid)
            if avoid and value in out:
                value = self.vary(value, i)
            out.append(value)
        return out

    @staticmethod
    def vary(value: Any, i: int) -> Any:
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float):
            return value + i
        if isinstance(value, str):
            return f"{value}-{i + 1}"
        return value

    def object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        props = schema.get("properties") or {}
        required = list(schema.get("required") or [])
        names = required + [p for p in props if p not in required]
        high = schema.get("maxProperties")
        if high is not None:
            names = names[: max(high, len(required))]
        out: dict[str, Any] = {}
        for prop in names:
            out[prop] = self.value(props.get(prop, self.extra_schema(schema)), prop, depth + 1)
        low = schema.get("minProperties", 0)
        extra = self.extra_schema(schema)
        n = 1
        while len(out) < low and extra is not False:
            key = f"extra_{n}"
            out.setdefault(key, self.value(extra, key, depth + 1))
            n += 1
        return out

    @staticmethod
    def extra_schema(schema: dict[str, Any]) -> Any:
        extra = schema.get("additionalProperties", True)
        return {} if extra is True else extra


def example_value(schema: dict[str, Any]) -> Any:
    """A deterministic value that validates against `schema` (best effort for exotic ones)."""
    return _Generator(schema).value(schema, "")


def is_valid(value: Any, schema: dict[str, Any]) -> bool:
    """Whether `value` validates against `schema` (True when jsonschema is unavailable)."""
    return _Generator(schema).valid(value, schema)
