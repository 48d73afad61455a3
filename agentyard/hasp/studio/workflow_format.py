"""The Studio workflow format: validation (errors name the step index and path) and compilation
onto the flows engine's compiled form. The format is documented in specs/hasp-studio.yaml
(`WorkflowDefinition`); in short:

    {"trigger": {"type": "manual" | "webhook" | "schedule" | "record_change" | "agent", ...},
     "steps": [{"id", "type", "when"?, ...the type's fields}],
     "output": <value with @refs / {{ templates }}>?}

A step's output is stored under its `id`: later steps read `@<id>.<field>`; the run's input is
`@input`, the trigger `@trigger`. `when` is a condition (see `conditions`).

What the record steps do is `record_steps`'; the `integration_call` operations per kind
(`http`: `request`, `slack_webhook`: `post`, `postgresql`: `query`, `smtp`: `send`) and their
inputs are `integration_calls`'.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from croniter import croniter

from agentyard.hasp.studio import conditions
from agentyard.hasp.studio.roles import ROLES

TRIGGERS = ("manual", "webhook", "schedule", "record_change", "agent")
RECORD_EVENTS = ("created", "updated", "deleted")
STEP_TYPES = (
    "ai_chat",
    "record_create",
    "record_update",
    "record_query",
    "integration_call",
    "approval",
    "condition",
    "call_workflow",
)
RESERVED_IDS = frozenset({"input", "trigger", "workflow", "run"})
STEP_ID = re.compile(r"[a-z][a-z0-9_]{0,62}")
NAME = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
MAX_STEPS = 50
MAX_DEPTH = 4
MAX_TEXT = 20_000
MAX_TOKENS = 8192
MAX_APPROVAL_SECONDS = 30 * 86400

# The fields each step type takes: name -> (kind, required).
FIELDS: dict[str, dict[str, tuple[str, bool]]] = {
    "ai_chat": {
        "prompt": ("text", True),
        "system": ("text", False),
        "model": ("name", False),
        "max_tokens": ("tokens", False),
    },
    "record_create": {"entity": ("name", True), "values": ("object", True)},
    "record_update": {
        "entity": ("name", True),
        "record_id": ("text", True),
        "values": ("object", True),
    },
    "record_query": {
        "entity": ("name", True),
        "where": ("object", False),
        "limit": ("limit", False),
    },
    "integration_call": {
        "integration": ("name", True),
        "operation": ("name", True),
        "input": ("object", False),
    },
    "approval": {
        "title": ("text", True),
        "instructions": ("text", False),
        "role": ("role", False),
        "timeout_seconds": ("timeout", False),
    },
    "condition": {"branches": ("branches", True), "else": ("steps", False)},
    "call_workflow": {"workflow": ("name", True), "input": ("object", False)},
}


class FormatError(Exception):
    """A definition the format refuses: `path` is a JSON pointer into the definition and
    `step_index` the top-level step it is in (None outside the steps)."""

    def __init__(self, message: str, path: str, step_index: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.step_index = step_index


@dataclass(frozen=True)
class Checked:
    """A valid definition: its trigger, the compiled form, and the workflows it calls."""

    trigger: dict[str, Any]
    compiled: dict[str, Any]
    calls: tuple[tuple[str, str], ...]  # (workflow ref, path)


class _Walk:
    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self.top: int | None = None

    def fail(self, message: str, path: str) -> FormatError:
        return FormatError(message, path, self.top)

    def steps(self, value: Any, path: str, depth: int) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not value:
            raise self.fail("steps must be a non-empty list", path)
        if len(value) > MAX_STEPS:
            raise self.fail(f"at most {MAX_STEPS} steps per list", path)
        if depth > MAX_DEPTH:
            raise self.fail(f"conditions nest at most {MAX_DEPTH} deep", path)
        out = []
        for i, step in enumerate(value):
            if depth == 0:
                self.top = i
            out.append(self.step(step, f"{path}/{i}", depth))
        return out

    def step(self, step: Any, path: str, depth: int) -> dict[str, Any]:
        if not isinstance(step, Mapping):
            raise self.fail("a step must be an object", path)
        kind = step.get("type")
        if kind not in STEP_TYPES:
            raise self.fail(f"type must be one of {', '.join(STEP_TYPES)}", f"{path}/type")
        step_id = step.get("id")
        if not isinstance(step_id, str) or not STEP_ID.fullmatch(step_id):
            raise self.fail("id must match ^[a-z][a-z0-9_]{0,62}$", f"{path}/id")
        if step_id in RESERVED_IDS:
            raise self.fail(f"id {step_id!r} is reserved", f"{path}/id")
        if step_id in self.ids:
            raise self.fail(f"id {step_id!r} is used by another step", f"{path}/id")
        self.ids.add(step_id)
        fields = FIELDS[kind]
        for key in step:
            if key not in fields and key not in ("id", "type", "when"):
                raise self.fail(f"unknown field {key!r} for a {kind} step", f"{path}/{key}")
        props: dict[str, Any] = {}
        for name, (field_kind, required) in fields.items():
            if name not in step:
                if required:
                    raise self.fail(f"a {kind} step needs {name}", f"{path}/{name}")
                continue
            props[name] = self.field(field_kind, step[name], f"{path}/{name}", depth)
        if kind == "call_workflow":
            self.calls.append((str(step["workflow"]), f"{path}/workflow"))
        compiled: dict[str, Any] = {"type": kind, "props": props, "output_key": step_id}
        if "when" in step:
            self.condition(step["when"], f"{path}/when")
            compiled["when"] = step["when"]
        if kind == "condition":
            compiled["props"] = {
                "branches": props["branches"],
                **({"else": props["else"]} if "else" in props else {}),
            }
        return compiled

    def condition(self, value: Any, path: str) -> None:
        try:
            conditions.check(value)
        except ValueError as exc:
            raise self.fail(str(exc), path) from None

    def field(self, kind: str, value: Any, path: str, depth: int) -> Any:
        if kind == "text":
            if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
                raise self.fail(f"must be a non-empty string of at most {MAX_TEXT}", path)
        elif kind == "name":
            if not isinstance(value, str) or not value or len(value) > 200:
                raise self.fail("must be a non-empty string of at most 200", path)
        elif kind == "object":
            if not isinstance(value, Mapping):
                raise self.fail("must be an object", path)
        elif kind in ("tokens", "limit", "timeout"):
            top = {"tokens": MAX_TOKENS, "limit": 100, "timeout": MAX_APPROVAL_SECONDS}[kind]
            least = 60 if kind == "timeout" else 1
            if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= top:
                raise self.fail(f"must be an integer from {least} to {top}", path)
        elif kind == "role":
            if value not in ROLES:
                raise self.fail(f"must be one of {', '.join(ROLES)}", path)
        elif kind == "steps":
            return self.steps(value, path, depth + 1)
        elif kind == "branches":
            if not isinstance(value, list) or not 1 <= len(value) <= 20:
                raise self.fail("branches must be a list of 1 to 20 {when, steps}", path)
            out = []
            for b, branch in enumerate(value):
                where = f"{path}/{b}"
                if not isinstance(branch, Mapping) or set(branch) != {"when", "steps"}:
                    raise self.fail("a branch is an object {when, steps}", where)
                self.condition(branch["when"], f"{where}/when")
                steps = self.steps(branch["steps"], f"{where}/steps", depth + 1)
                out.append({"when": branch["when"], "steps": steps})
            return out
        return value


def check_trigger(trigger: Any) -> dict[str, Any]:
    """The trigger with its defaults filled in; FormatError otherwise."""
    if not isinstance(trigger, Mapping):
        raise FormatError("trigger must be an object with a type", "/trigger")
    kind = trigger.get("type")
    if kind not in TRIGGERS:
        raise FormatError(f"trigger.type must be one of {', '.join(TRIGGERS)}", "/trigger/type")
    allowed = {
        "manual": set(),
        "webhook": set(),
        "schedule": {"cron", "timezone", "input"},
        "record_change": {"entity", "field", "events"},
        "agent": {"description", "input_schema"},
    }[kind]
    for key in trigger:
        if key != "type" and key not in allowed:
            raise FormatError(f"unknown field {key!r} for a {kind} trigger", f"/trigger/{key}")
    out: dict[str, Any] = {"type": kind}
    if kind == "schedule":
        cron = trigger.get("cron")
        if not isinstance(cron, str) or len(cron.split()) != 5 or not croniter.is_valid(cron):
            raise FormatError(
                "cron must be a 5-field cron expression (minute hour day month weekday)",
                "/trigger/cron",
            )
        tz = trigger.get("timezone", "UTC")
        try:
            zoneinfo.ZoneInfo(tz) if isinstance(tz, str) and tz else None
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            tz = None
        if not isinstance(tz, str) or not tz:
            raise FormatError("timezone must be an IANA time zone name", "/trigger/timezone")
        data = trigger.get("input", {})
        if not isinstance(data, Mapping):
            raise FormatError("input must be an object", "/trigger/input")
        out.update(cron=" ".join(cron.split()), timezone=tz, input=dict(data))
    elif kind == "record_change":
        entity = trigger.get("entity")
        if not isinstance(entity, str) or not 1 <= len(entity) <= 200:
            raise FormatError("entity must name one of the project's entities", "/trigger/entity")
        field = trigger.get("field", "*")
        if not isinstance(field, str) or not 1 <= len(field) <= 200:
            raise FormatError("field must be a field name or *", "/trigger/field")
        events = trigger.get("events", list(RECORD_EVENTS))
        if (
            not isinstance(events, list)
            or not events
            or any(e not in RECORD_EVENTS for e in events)
        ):
            raise FormatError(
                f"events must be a non-empty list of {', '.join(RECORD_EVENTS)}",
                "/trigger/events",
            )
        out.update(entity=entity, field=field, events=sorted(set(events)))
    elif kind == "agent":
        description = trigger.get("description", "")
        if not isinstance(description, str) or len(description) > 2000:
            raise FormatError(
                "description must be a string of at most 2000", "/trigger/description"
            )
        schema = trigger.get("input_schema", {"type": "object"})
        if not isinstance(schema, Mapping):
            raise FormatError("input_schema must be a JSON Schema object", "/trigger/input_schema")
        import jsonschema

        try:
            jsonschema.Draft202012Validator.check_schema(dict(schema))
        except jsonschema.SchemaError as exc:
            raise FormatError(
                f"input_schema is not a valid JSON Schema: {exc.message}", "/trigger/input_schema"
            ) from None
        out.update(description=description, input_schema=dict(schema))
    return out


def check(definition: Mapping[str, Any]) -> Checked:
    """Validate `definition` and compile it; raises FormatError."""
    for key in definition:
        if key not in ("trigger", "steps", "output"):
            raise FormatError(f"unknown field {key!r} (trigger, steps, output)", f"/{key}")
    trigger = check_trigger(definition.get("trigger"))
    walk = _Walk()
    steps = walk.steps(definition.get("steps"), "/steps", 0)
    compiled: dict[str, Any] = {"steps": steps}
    if definition.get("output") is not None:
        compiled["output"] = definition["output"]
    return Checked(trigger, compiled, tuple(walk.calls))
