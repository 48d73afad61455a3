"""The operations of a spec and the handler functions they resolve to.

Resolution follows Connexion's: an operation's handler is
`<x-openapi-router-controller>.<operationId>`, or the operationId itself when it is a dotted
path. Handler modules are inspected by parsing their source (never imported), so checking a
tree with a broken or half-written handler still works.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentyard.specs.document import load

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SCAFFOLD_CALL = "not_implemented"
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def pythonic(name: str) -> str:
    """Connexion's pythonic name of a parameter (`widgetId` -> `widget_id`, `id` -> `id_`).
    Connexion is imported here, not with the module: every CLI command imports this module
    and none but `serve` needs the rest of Connexion (~0.2 s)."""
    from connexion.decorators.parameter import pythonic as connexion_pythonic

    return connexion_pythonic(name)


@dataclass(frozen=True)
class Param:
    """A parameter as the handler receives it (Connexion's pythonic name)."""

    name: str
    location: str
    required: bool
    type: str  # the Python annotation


@dataclass
class Operation:
    """One operation of a spec and where its handler lives."""

    spec: Path
    method: str
    path: str
    operation_id: str | None
    summary: str
    controller: str | None = None
    params: list[Param] = field(default_factory=list)
    body: Param | None = None
    takes_kwargs: bool = False  # a parameter has no usable Python name

    @property
    def label(self) -> str:
        return f"{self.spec.name} {self.method.upper()} {self.path}"

    @property
    def target(self) -> tuple[str, str] | None:
        """(module, function) the operation resolves to, or None when it cannot resolve."""
        if not self.operation_id:
            return None
        if self.controller:
            return self.controller, self.operation_id
        if "." in self.operation_id:
            module, _, func = self.operation_id.rpartition(".")
            return module, func
        return None


def _annotation(schema: dict[str, Any] | None) -> str:
    kind: Any = (schema or {}).get("type")  # any JSON value; unknown ones give "object"
    return {
        "string": "str",
        "integer": "int",
        "number": "float",
        "boolean": "bool",
        "array": "list",
        "object": "dict",
    }.get(kind, "object")


def _deref(doc: dict[str, Any], node: Any) -> dict[str, Any]:
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 32:
        target: Any = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
        node, seen = target, seen + 1
    return node if isinstance(node, dict) else {}


def _operation(
    spec: Path, doc: dict[str, Any], path: str, method: str, item: dict[str, Any]
) -> Operation:
    raw = item[method]
    op = Operation(
        spec=spec,
        method=method,
        path=path,
        operation_id=raw.get("operationId"),
        summary=(raw.get("summary") or "").strip(),
        controller=raw.get("x-openapi-router-controller")
        or item.get("x-openapi-router-controller"),
    )
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for p in [*item.get("parameters", []), *raw.get("parameters", [])]:
        p = _deref(doc, p)
        merged[(p.get("in", ""), p.get("name", ""))] = p
    for (location, name), p in merged.items():
        if location not in ("path", "query"):  # Connexion passes headers and cookies to nobody
            continue
        py = pythonic(name)
        if not py.isidentifier() or py in ("body", "kwargs"):
            op.takes_kwargs = True
            continue
        required = location == "path" or bool(p.get("required"))
        op.params.append(Param(py, location, required, _annotation(_deref(doc, p.get("schema")))))
    body = _deref(doc, raw.get("requestBody") or {})
    if body:
        content = body.get("content") or {}
        schema = next((_deref(doc, c.get("schema") or {}) for c in content.values()), {})
        name = pythonic(body.get("x-body-name", "body"))
        op.body = Param(name, "body", bool(body.get("required")), _annotation(schema))
        op.takes_kwargs = op.takes_kwargs or any(t in content for t in FORM_TYPES)
    return op


def operations(spec: Path) -> list[Operation]:
    """Every operation of the spec at `spec`, in document order."""
    doc = load(spec)
    found = []
    for path, item in (doc.get("paths") or {}).items():
        for method in METHODS:
            if method in item:
                found.append(_operation(spec, doc, path, method, item))
    return found


def module_file(root: Path, module: str) -> Path:
    """Where the source of dotted `module` lives (or would live) under `root`."""
    base = root.joinpath(*module.split("."))
    package = base / "__init__.py"
    return package if package.exists() else base.with_suffix(".py")


def top_level_names(source: Path) -> set[str]:
    """Names a module defines or imports at top level (empty when it does not exist)."""
    if not source.exists():
        return set()
    names: set[str] = set()
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _is_scaffold(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = func.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Raise):
        return False
    call = body[0].exc
    if not isinstance(call, ast.Call):
        return False
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    return name == SCAFFOLD_CALL


def scaffolds(source: Path) -> set[str]:
    """Functions in `source` whose whole body is still the scaffold's `raise not_implemented`."""
    if not source.exists():
        return set()
    tree = ast.parse(source.read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _is_scaffold(node)
    }


@dataclass
class Report:
    """What `codegen.py --check` says about the handlers of every spec."""

    operations: list[Operation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # each one fails the check
    unresolved: int = 0  # operations among the problems
    missing: list[Operation] = field(default_factory=list)  # resolvable, not written yet
    scaffolded: list[Operation] = field(default_factory=list)  # written, still answering 501


def _security_functions(doc: dict[str, Any]) -> list[tuple[str, str]]:
    schemes = (doc.get("components") or {}).get("securitySchemes") or {}
    return [
        (name, value)
        for name, scheme in schemes.items()
        for key, value in scheme.items()
        if key.startswith("x-") and key.endswith("InfoFunc") and isinstance(value, str)
    ]


def inspect(root: Path, specs: list[Path]) -> Report:
    """Resolve every operation of `specs` against the handler sources under `root`."""
    report = Report()
    owners: dict[str, Operation] = {}  # handler "module.function" -> its first operation
    for spec in specs:
        seen_ids: dict[str, Operation] = {}
        for op in operations(spec):
            report.operations.append(op)
            if not op.operation_id:
                report.problems.append(f"{op.label}: no operationId")
                report.unresolved += 1
                continue
            if op.operation_id in seen_ids:
                first = seen_ids[op.operation_id]
                report.problems.append(
                    f"{spec.name}: operationId {op.operation_id} is used by "
                    f"{first.method.upper()} {first.path} and {op.method.upper()} {op.path}"
                )
                report.unresolved += 1
                continue
            seen_ids[op.operation_id] = op
            target = op.target
            if target is None:
                report.problems.append(
                    f"{op.label}: operationId {op.operation_id} resolves to nothing "
                    "(no x-openapi-router-controller and not a dotted path)"
                )
                report.unresolved += 1
                continue
            dotted = ".".join(target)
            if dotted in owners:
                report.problems.append(
                    f"{op.label}: resolves to {dotted}, which {owners[dotted].label} uses too"
                )
                report.unresolved += 1
                continue
            owners[dotted] = op
            source = module_file(root, target[0])
            if target[1] not in top_level_names(source):
                report.missing.append(op)
            elif target[1] in scaffolds(source):
                report.scaffolded.append(op)
        for scheme, func in _security_functions(load(spec)):
            module, _, name = func.rpartition(".")
            if not module or name not in top_level_names(module_file(root, module)):
                report.problems.append(
                    f"{spec.name}: security scheme {scheme} names {func}, which does not exist"
                )
    return report
