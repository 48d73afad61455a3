"""Hyphen workflow definitions: validation of a whole definition, and compiling it onto the
flows engine's compiled form.

A definition is `{"condition"?, "actions": [step, ...]}`; a step is `{"type", "properties",
"outputKey"?, "filter": {"condition"}?, "onFalse": step?}` where `type` is a primitive
(`matcher`, `loop` with `mode` `foreach` | `react`, `PbotApproval`, `PbotForm`,
`custom-table`) or the `action_name` of one of the org's registered actions.

`check()` walks the whole definition and raises `DefinitionError` for the first problem, named
by step index and JSON path (`actions[1].properties.actions_to_execute[0].type`): an unknown
step type, a missing or ill-typed required property, a malformed condition, a `@path` that is
malformed or names nothing defined before the step (`input`, `now`, `__run_id`, earlier
`outputKey`s and matcher/result keys, the loop's item variable, form keys; after an approval any
name, since its `data` is merged into the context), an undeclared agent tool, or a cycle of
workflows calling each other through agent tools (`{"type": "workflow", "id"}` or
`__run_workflow__` with a fixed `workflow_id`).

Limits: at most 500 steps; a foreach's `max_concurrency` above 32 runs 32 at once; a react
loop's `max_iterations` is at most 100.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agentyard.flows.react import BUILTIN_TOOLS
from agentyard.hyphen import conditions, context, matcher
from agentyard.hyphen.oauth_tools import TOOLS as OAUTH_TOOLS

PRIMITIVES = ("matcher", "loop", "PbotApproval", "PbotForm", "custom-table")
LOOP_MODES = ("foreach", "react")
FAILURE_STRATEGIES = ("stop_on_error", "continue_on_error")
TABLE_OPERATIONS = ("read", "write", "update", "upsert")
ON_STUCK_ACTIONS = ("fail", "escalate", "retry_with_hint")
BASE_ROOTS = frozenset({"input", "now", "__run_id", "__approved", "__comment"})
MAX_STEPS = 500
MAX_CONCURRENCY = 32  # threads one foreach may run at once (more is clamped)
MAX_ITERATIONS = 100


class DefinitionError(ValueError):
    """An invalid definition; `where` is the JSON path of the offending part."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.message = message


@dataclass
class Catalog:
    """What a definition may name: the org's actions and workflows (id -> definition)."""

    actions: Mapping[str, Any] = field(default_factory=dict)  # action_name -> kind
    workflows: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    workflow_names: Mapping[str, str] = field(default_factory=dict)  # name -> id
    action_output_keys: Mapping[str, str] = field(default_factory=dict)  # action -> outputKey


@dataclass
class _Walk:
    catalog: Catalog
    roots: set[str]
    open: bool = False  # after an approval: its data may define any name
    count: int = 0
    workflow_refs: set[str] = field(default_factory=set)


def _fail(where: str, message: str) -> DefinitionError:
    return DefinitionError(where, message)


def _check_refs(walk: _Walk, value: Any, where: str, extra: Iterable[str] = ()) -> None:
    for inner, path in context.references(value):
        at = f"{where}.{inner}" if inner else where
        if not context.valid_path(path.strip()):
            raise _fail(at, f"{path!r} is not a valid reference path")
        root = context.root_of(path.strip())
        if walk.open or root in walk.roots or root in extra:
            continue
        known = ", ".join(sorted(walk.roots | set(extra)))
        raise _fail(
            at, f"@{path} refers to {root!r}, which nothing defines before it (known: {known})"
        )


def _require(props: Mapping[str, Any], name: str, where: str, kind: type | tuple) -> Any:
    if name not in props or props[name] is None:
        raise _fail(f"{where}.{name}", "is required")
    value = props[name]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise _fail(f"{where}.{name}", f"must be {_kind_name(kind)}")
    return value


def _kind_name(kind: type | tuple) -> str:
    names = {str: "a string", list: "an array", dict: "an object", int: "an integer"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)


def _optional_number(props: Mapping[str, Any], name: str, where: str, minimum: float) -> None:
    value = props.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise _fail(f"{where}.{name}", f"must be a number >= {minimum:g}")


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not context.valid_path(value) or "." in value:
        raise _fail(where, "must be a plain name (letters, digits, _ or -)")
    return value


def check(definition: Any, catalog: Catalog, workflow_id: str | None = None) -> dict[str, Any]:
    """Validate a Hyphen definition; returns its compiled form (see `compile`)."""
    if not isinstance(definition, Mapping):
        raise _fail("definition", "must be an object")
    walk = _Walk(catalog, set(BASE_ROOTS))
    compiled: dict[str, Any] = {}
    if definition.get("condition") is not None:
        cond = definition["condition"]
        try:
            conditions.validate(cond, "definition.condition")
        except conditions.ConditionError as exc:
            raise _fail(exc.where, exc.message) from None
        for at, operand in conditions.operands(cond, "definition.condition"):
            _check_refs(walk, operand, at)
        compiled["when"] = cond
    actions = definition.get("actions")
    if not isinstance(actions, list) or not actions:
        raise _fail("definition.actions", "must be a non-empty array of steps")
    compiled["steps"] = [_step(walk, step, f"actions[{i}]") for i, step in enumerate(actions)]
    if workflow_id is not None:
        _check_cycles(catalog, workflow_id, walk.workflow_refs | workflow_refs(definition, catalog))
    return compiled


def _step(walk: _Walk, step: Any, where: str) -> dict[str, Any]:
    walk.count += 1
    if walk.count > MAX_STEPS:
        raise _fail(where, f"a definition may hold at most {MAX_STEPS} steps")
    if not isinstance(step, Mapping):
        raise _fail(where, "a step must be an object with a type")
    kind = step.get("type")
    if not isinstance(kind, str) or not kind:
        raise _fail(f"{where}.type", "is required")
    props = step.get("properties", {})
    if props is None:
        props = {}
    if not isinstance(props, Mapping):
        raise _fail(f"{where}.properties", "must be an object")
    pwhere = f"{where}.properties"
    output_key = step.get("outputKey")
    if output_key is not None:
        _name(output_key, f"{where}.outputKey")
    compiled: dict[str, Any] = {}
    filt = step.get("filter")
    if filt is not None:
        if not isinstance(filt, Mapping) or "condition" not in filt:
            raise _fail(f"{where}.filter", 'must be {"condition": {...}}')
        try:
            conditions.validate(filt["condition"], f"{where}.filter.condition")
        except conditions.ConditionError as exc:
            raise _fail(exc.where, exc.message) from None
        for at, operand in conditions.operands(filt["condition"], f"{where}.filter.condition"):
            _check_refs(walk, operand, at)
        compiled["when"] = filt["condition"]
    if step.get("onFalse") is not None:
        if filt is None:
            raise _fail(f"{where}.onFalse", "needs a filter on the same step")
        compiled["else"] = [_step(walk, step["onFalse"], f"{where}.onFalse")]

    if kind == "loop":
        compiled.update(_loop(walk, props, pwhere, step))
    elif kind == "matcher":
        _require(props, "left", pwhere, (str, list))
        _require(props, "right", pwhere, (str, list))
        try:
            matcher.spec_from({k: v for k, v in props.items() if k not in ("left", "right")})
        except matcher.MatcherError as exc:
            raise _fail(pwhere, str(exc)) from None
        _check_refs(walk, props, pwhere)
        compiled.update(type="matcher", props=dict(props))
        walk.roots.update(matcher.output_keys(props))
    elif kind == "PbotApproval":
        _require(props, "comment", pwhere, str)
        if props.get("request_payload") is not None and not isinstance(
            props["request_payload"], dict
        ):
            raise _fail(f"{pwhere}.request_payload", "must be an object")
        _check_refs(walk, props, pwhere)
        compiled.update(type="PbotApproval", props=dict(props))
        walk.open = True
    elif kind == "PbotForm":
        keys = _require(props, "expected_keys", pwhere, list)
        if not keys or not all(isinstance(k, str) and k for k in keys):
            raise _fail(f"{pwhere}.expected_keys", "must be a non-empty array of names")
        _optional_number(props, "ttl_seconds", pwhere, 1)
        reminders = props.get("reminder_intervals")
        if reminders is not None and (
            not isinstance(reminders, list)
            or not all(
                isinstance(r, int | float) and not isinstance(r, bool) and r > 0 for r in reminders
            )
        ):
            raise _fail(f"{pwhere}.reminder_intervals", "must be an array of positive seconds")
        _check_refs(walk, props, pwhere)
        compiled.update(type="PbotForm", props=dict(props))
        walk.roots.update(keys)
    elif kind == "custom-table":
        _require(props, "table", pwhere, str)
        op = _require(props, "operation", pwhere, str)
        if op not in TABLE_OPERATIONS:
            raise _fail(f"{pwhere}.operation", f"must be one of {', '.join(TABLE_OPERATIONS)}")
        _check_refs(walk, props, pwhere)
        compiled.update(type="custom-table", props=dict(props))
    elif kind in walk.catalog.actions:
        _check_refs(walk, props, pwhere)
        compiled.update(type="hyphen.action", props={"action": kind, "properties": dict(props)})
        if walk.catalog.action_output_keys.get(kind):
            walk.roots.add(walk.catalog.action_output_keys[kind])
    elif kind in OAUTH_TOOLS:
        _check_refs(walk, props, pwhere)
        compiled.update(type="hyphen.oauth_tool", props={"tool": kind, "properties": dict(props)})
    else:
        raise _fail(
            f"{where}.type",
            f"unknown step type {kind!r}: use a primitive ({', '.join(PRIMITIVES)}) "
            "or the action_name of a registered action",
        )
    if output_key:
        compiled["output_key"] = output_key
        walk.roots.add(output_key)
    return compiled


def _loop(walk: _Walk, props: Mapping[str, Any], pwhere: str, step: Mapping) -> dict[str, Any]:
    mode = _require(props, "mode", pwhere, str)
    if mode not in LOOP_MODES:
        raise _fail(f"{pwhere}.mode", f"must be one of {', '.join(LOOP_MODES)}")
    result_key = props.get("result_key")
    if result_key is not None:
        _name(result_key, f"{pwhere}.result_key")
    out: dict[str, Any] = {}
    if mode == "foreach":
        items = _require(props, "items_path", pwhere, (str, list))
        if isinstance(items, str) and not items.startswith("@"):
            raise _fail(f"{pwhere}.items_path", "must be an @path or an array")
        _check_refs(walk, items, f"{pwhere}.items_path")
        variable = _name(props.get("item_variable_name") or "item", f"{pwhere}.item_variable_name")
        body = _require(props, "actions_to_execute", pwhere, list)
        if not body:
            raise _fail(f"{pwhere}.actions_to_execute", "must hold at least one step")
        _optional_number(props, "max_concurrency", pwhere, 1)
        strategy = props.get("failure_strategy") or "stop_on_error"
        if strategy not in FAILURE_STRATEGIES:
            raise _fail(
                f"{pwhere}.failure_strategy", f"must be one of {', '.join(FAILURE_STRATEGIES)}"
            )
        if props.get("collect_results") is not None and not isinstance(
            props["collect_results"], bool
        ):
            raise _fail(f"{pwhere}.collect_results", "must be a boolean")
        inner = _Walk(walk.catalog, set(walk.roots) | {variable, "item"}, walk.open, walk.count)
        inner.workflow_refs = walk.workflow_refs
        steps = [_step(inner, s, f"{pwhere}.actions_to_execute[{i}]") for i, s in enumerate(body)]
        walk.count = inner.count
        out = {
            "type": "foreach",
            "props": {
                "items": items,
                "item_variable": variable,
                "item_aliases": ["item"],
                "index_variable": "__index",
                "steps": steps,
                "max_concurrency": min(int(props.get("max_concurrency") or 1), MAX_CONCURRENCY),
                "failure_strategy": strategy,
                "collect_results": bool(props.get("collect_results", False)),
            },
        }
    else:
        _require(props, "objective", pwhere, str)
        _optional_number(props, "max_iterations", pwhere, 1)
        if (props.get("max_iterations") or 1) > MAX_ITERATIONS:
            raise _fail(f"{pwhere}.max_iterations", f"must be at most {MAX_ITERATIONS}")
        _check_tools(walk, props.get("tools"), f"{pwhere}.tools")
        on_stuck = props.get("on_stuck")
        if on_stuck is not None:
            _check_on_stuck(on_stuck, f"{pwhere}.on_stuck")
        _check_refs(walk, props.get("objective"), f"{pwhere}.objective")
        out = {"type": "hyphen.react", "props": dict(props)}
    key = result_key or step.get("outputKey")
    if key:
        out["output_key"] = key
        walk.roots.add(key)
    return out


def _check_on_stuck(on_stuck: Any, where: str) -> None:
    if isinstance(on_stuck, str):
        action = on_stuck
    elif isinstance(on_stuck, Mapping):
        action = on_stuck.get("action", "fail")
        iterations = on_stuck.get("iterations")
        if iterations is not None and (
            isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 2
        ):
            raise _fail(f"{where}.iterations", "must be an integer >= 2")
        if on_stuck.get("hint") is not None and not isinstance(on_stuck["hint"], str):
            raise _fail(f"{where}.hint", "must be a string")
    else:
        raise _fail(where, "must be an object {iterations, action, hint}")
    if action not in ON_STUCK_ACTIONS:
        raise _fail(f"{where}.action", f"must be one of {', '.join(ON_STUCK_ACTIONS)}")


def check_tools(tools: Any, catalog: Catalog, where: str = "tools") -> set[str]:
    """Validate an agent's tool declarations; returns the workflow ids they reference."""
    walk = _Walk(catalog, set())
    _check_tools(walk, tools, where)
    return walk.workflow_refs


def _check_tools(walk: _Walk, tools: Any, where: str) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise _fail(where, "must be an array of tool declarations")
    for i, tool in enumerate(tools):
        at = f"{where}[{i}]"
        if isinstance(tool, str):
            if (
                tool not in BUILTIN_TOOLS
                and tool not in walk.catalog.actions
                and tool not in OAUTH_TOOLS
            ):
                raise _fail(at, f"unknown tool {tool!r}: not a registered action or built-in tool")
            continue
        if not isinstance(tool, Mapping):
            raise _fail(at, 'must be {"type": "action", "name"} or {"type": "workflow", "id"}')
        kind = tool.get("type")
        if kind == "action":
            name = tool.get("name")
            if not isinstance(name, str) or (
                name not in walk.catalog.actions
                and name not in BUILTIN_TOOLS
                and name not in OAUTH_TOOLS
            ):
                raise _fail(f"{at}.name", f"unknown action {name!r}")
        elif kind == "workflow":
            ref = tool.get("id")
            if not isinstance(ref, str) or ref not in walk.catalog.workflows:
                raise _fail(f"{at}.id", f"unknown workflow {ref!r}")
            walk.workflow_refs.add(ref)
        else:
            raise _fail(f"{at}.type", 'must be "action" or "workflow"')


def workflow_refs(definition: Any, catalog: Catalog) -> set[str]:
    """The workflow ids a stored definition's agents may run (best effort, never raises)."""
    found: set[str] = set()

    def visit(value: Any) -> None:
        if isinstance(value, Mapping):
            if value.get("type") == "workflow" and isinstance(value.get("id"), str):
                found.add(value["id"])
            if isinstance(value.get("workflow_id"), str):
                found.add(value["workflow_id"])
            name = value.get("workflow_name")
            if isinstance(name, str) and name in catalog.workflow_names:
                found.add(catalog.workflow_names[name])
            for v in value.values():
                visit(v)
        elif isinstance(value, list):
            for v in value:
                visit(v)

    visit(definition)
    return found


def _check_cycles(catalog: Catalog, workflow_id: str, direct: set[str]) -> None:
    graph: dict[str, set[str]] = {
        wid: workflow_refs(d, catalog) for wid, d in catalog.workflows.items() if wid != workflow_id
    }
    graph[workflow_id] = set(direct)
    stack: list[tuple[str, list[str]]] = [(workflow_id, [workflow_id])]
    seen: set[str] = set()
    while stack:
        node, trail = stack.pop()
        for nxt in sorted(graph.get(node, ())):
            if nxt == workflow_id:
                chain = " -> ".join([*trail, nxt])
                raise _fail(
                    "definition.actions",
                    f"a cycle of workflows running each other through __run_workflow__: {chain}",
                )
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*trail, nxt]))


LookupCatalog = Callable[[str], Catalog]
