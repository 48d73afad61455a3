"""Entity field definitions and the values they accept.

Types and what a value must be (JSON): `string` a string of at most `max_length` (default
1000) characters, `text` a string up to 100,000 characters, `integer` an integer within 64
bits (a float without a fraction is taken), `number` any finite number, `boolean` true or
false, `date` `YYYY-MM-DD`, `datetime` an RFC 3339 date-time with an offset (stored as UTC
`...Z`, millisecond precision), `enum` one of `options`, `json` any JSON value (at most 64 KiB
serialized), `reference` the id (`rec_…`) of a record of the entity named by `reference`
(an entity key of the same project). `null` (or an absent field) is "no value"; a `required`
field must have one. A `phi` field's values are redacted in the audit and in webhook events.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentyard.core import clock
from agentyard.core.errors import ApiError

TYPES = (
    "string", "text", "integer", "number", "boolean", "date", "datetime", "enum", "json",
    "reference",
)  # fmt: skip
NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
RESERVED = ("id", "created_at", "updated_at", "version")
STRING_MAX = 1000
TEXT_MAX = 100_000
JSON_MAX = 65_536
INT64 = 2**63
REDACTED = "[REDACTED]"


@dataclass(frozen=True)
class Field:
    """One typed field of an entity."""

    name: str
    type: str
    required: bool = False
    unique: bool = False
    phi: bool = False
    options: tuple[str, ...] = ()
    reference: str | None = None
    max_length: int | None = None
    default: Any = None

    def view(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "unique": self.unique,
            "phi": self.phi,
        }
        if self.type == "enum":
            out["options"] = list(self.options)
        if self.type == "reference":
            out["reference"] = self.reference
        if self.max_length is not None:
            out["max_length"] = self.max_length
        if self.default is not None:
            out["default"] = self.default
        return out


class FieldError(ValueError):
    """A value (or definition) a field refuses; `rejected()` makes it the API's 422."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def rejected(exc: FieldError, prefix: str = "data.") -> ApiError:
    """422 VALIDATION_FAILED naming the field in `details.param`."""
    return ApiError(422, "VALIDATION_FAILED", exc.message, {"param": f"{prefix}{exc.field}"})


def from_stored(raw: Sequence[Mapping[str, Any]]) -> list[Field]:
    return [
        Field(
            f["name"],
            f["type"],
            bool(f.get("required")),
            bool(f.get("unique")),
            bool(f.get("phi")),
            tuple(f.get("options") or ()),
            f.get("reference"),
            f.get("max_length"),
            f.get("default"),
        )  # fmt: skip
        for f in raw
    ]


def parse(raw: Sequence[Mapping[str, Any]], entity_keys: set[str]) -> list[Field]:
    """Field definitions from the wire; FieldError naming `fields[i]` for the first bad one.
    `entity_keys`: the entity keys a `reference` may name (the project's, this one's too)."""
    found: list[Field] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"fields[{i}]"
        name, kind = item.get("name"), item.get("type")
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise FieldError(where, f"{where}.name must be lowercase letters, digits and '_'")
        if name in RESERVED:
            raise FieldError(where, f"{where}.name {name!r} is reserved ({', '.join(RESERVED)})")
        if name in seen:
            raise FieldError(where, f"{where}.name {name!r} is used twice")
        if kind not in TYPES:
            raise FieldError(where, f"{where}.type must be one of {', '.join(TYPES)}")
        options = tuple(item.get("options") or ())
        if kind == "enum":
            if not options or len(set(options)) != len(options):
                raise FieldError(where, f"{where} ({name}): an enum needs distinct options")
        elif options:
            raise FieldError(where, f"{where} ({name}): options apply to enum fields only")
        reference = item.get("reference")
        if kind == "reference":
            if reference not in entity_keys:
                raise FieldError(
                    where, f"{where} ({name}): reference must name an entity of this project"
                )
        elif reference is not None:
            raise FieldError(where, f"{where} ({name}): reference applies to reference fields")
        max_length = item.get("max_length")
        if max_length is not None and kind != "string":
            raise FieldError(where, f"{where} ({name}): max_length applies to string fields")
        if item.get("unique") and kind in ("json", "text", "boolean"):
            raise FieldError(where, f"{where} ({name}): a {kind} field cannot be unique")
        field = Field(
            name, kind, bool(item.get("required")), bool(item.get("unique")),
            bool(item.get("phi")), options, reference, max_length,
        )  # fmt: skip
        default = item.get("default")
        if default is not None:
            if kind == "reference" or item.get("unique"):
                raise FieldError(where, f"{where} ({name}): this field cannot have a default")
            try:
                default = coerce(field, default)
            except FieldError as exc:
                raise FieldError(where, f"{where}.default: {exc.message}") from None
            field = Field(**{**field.__dict__, "default": default})
        seen.add(name)
        found.append(field)
    if not found:
        raise FieldError("fields", "fields must name at least one field")
    return found


def coerce(field: Field, value: Any) -> Any:
    """The stored form of `value` for `field` (None stays None); FieldError otherwise."""
    if value is None:
        return None
    label, kind = field.name, field.type
    if kind in ("string", "text", "enum", "reference"):
        if not isinstance(value, str):
            raise FieldError(label, f"{label} must be a string")
        if "\x00" in value:
            raise FieldError(label, f"{label} must not contain U+0000")
        limit = TEXT_MAX if kind == "text" else field.max_length or STRING_MAX
        if len(value) > limit:
            raise FieldError(label, f"{label} is longer than {limit} characters")
        if kind == "enum" and value not in field.options:
            raise FieldError(label, f"{label} must be one of {', '.join(field.options)}")
        if kind == "reference" and not re.fullmatch(r"rec_[0-9A-Z]{26}", value):
            raise FieldError(label, f"{label} must be a record id (rec_…)")
        return value
    if kind == "integer":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise FieldError(label, f"{label} must be an integer")
        if not -INT64 <= value < INT64:
            raise FieldError(label, f"{label} is outside the 64-bit integer range")
        return value
    if kind == "number":
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise FieldError(label, f"{label} must be a number")
        if isinstance(value, int) and not -INT64 <= value < INT64:
            raise FieldError(label, f"{label} is out of range")
        if isinstance(value, float) and not math.isfinite(value):
            raise FieldError(label, f"{label} must be a finite number")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise FieldError(label, f"{label} must be true or false")
        return value
    if kind == "date":
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise FieldError(label, f"{label} must be a date YYYY-MM-DD") from None
    if kind == "datetime":
        try:
            if not isinstance(value, str) or len(value) > 40:
                raise ValueError
            parsed = clock.parse(value)
            return clock.iso(parsed)
        except (ValueError, OverflowError):
            raise FieldError(label, f"{label} must be an RFC 3339 date-time with offset") from None
    # json
    if len(json.dumps(value)) > JSON_MAX:
        raise FieldError(label, f"{label} is larger than {JSON_MAX} bytes of JSON")
    return value


def convert(field: Field, value: Any) -> Any:
    """`value` (stored under another definition) as `field` stores it, widening where it can:
    integer → number, a date → a datetime at midnight UTC, anything → json, any scalar → a
    string or text; FieldError when it cannot be kept."""
    if value is None:
        return None
    if field.type in ("string", "text") and isinstance(value, int | float | bool):
        value = json.dumps(value)
    if field.type == "datetime" and isinstance(value, str) and len(value) == 10:
        value = f"{value}T00:00:00Z"
    return coerce(field, value)


def redact(fields: Sequence[Field], data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """`data` with every `phi` field's value replaced by `[REDACTED]` (null stays null)."""
    if data is None:
        return None
    phi = {f.name for f in fields if f.phi}
    return {k: (REDACTED if k in phi and v is not None else v) for k, v in data.items()}
