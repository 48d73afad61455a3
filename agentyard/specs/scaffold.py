"""Handler scaffolds: a function per operation that has none yet, answering 501.

A scaffold takes the operation's parameters as Connexion passes them, carries the spec's
summary as its docstring and raises `not_implemented(operationId)`, which the surface renders
in its own error shape. Existing functions are never touched: a missing function is appended
to its module (created with its package when needed), so a second run writes nothing.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from agentyard.specs.operations import SCAFFOLD_CALL, Operation, module_file, top_level_names

IMPORT = f"from agentyard.core.errors import {SCAFFOLD_CALL}"


def _signature(op: Operation) -> str:
    params = list(op.params) + ([op.body] if op.body else [])
    required = [p for p in params if p.required]
    optional = [p for p in params if not p.required]
    parts = [f"{p.name}: {p.type}" for p in required]
    parts += [f"{p.name}: {p.type} | None = None" for p in optional]
    if op.takes_kwargs:
        parts.append("**kwargs: object")
    return ", ".join(parts)


def render_function(op: Operation) -> str:
    """Source of the scaffold for `op` (its target must resolve)."""
    assert op.target is not None
    func = op.target[1]
    summary = (op.summary or f"{op.method.upper()} {op.path}").replace('"""', "'''")
    doc = summary if summary.endswith(".") else summary + "."
    head = f"def {func}({_signature(op)}) -> dict:"
    if len(head) > 100:
        args = ",\n    ".join(_signature(op).split(", "))
        head = f"def {func}(\n    {args},\n) -> dict:"
    return f'{head}\n    """{doc}"""\n    raise {SCAFFOLD_CALL}("{op.operation_id}")\n'


def _new_module(module: str, ops: list[Operation]) -> str:
    spec = ops[0].spec.name
    doc = f'"""Handlers for specs/{spec}, scaffolded by codegen.py: fill in each function."""'
    return f"{doc}\n\n{IMPORT}\n"


def _add_import(text: str) -> str:
    """`text` with the scaffold import added after its last top-level import."""
    imports = [
        node
        for node in ast.parse(text).body
        if isinstance(node, ast.Import | ast.ImportFrom)
        and getattr(node, "module", None) != "__future__"
    ]
    if not imports:
        return text.rstrip("\n") + f"\n\n{IMPORT}\n"
    lines = text.splitlines(keepends=True)
    end = imports[-1].end_lineno or len(lines)
    return "".join([*lines[:end], IMPORT + "\n", *lines[end:]])


def write(root: Path, missing: list[Operation]) -> list[Path]:
    """Write the scaffolds of `missing` under `root`; return the files written."""
    by_module: dict[str, list[Operation]] = defaultdict(list)
    for op in missing:
        assert op.target is not None
        by_module[op.target[0]].append(op)
    written = []
    for module, ops in sorted(by_module.items()):
        source = module_file(root, module)
        for package in reversed(source.relative_to(root).parents[:-1]):
            init = root / package / "__init__.py"
            if not init.exists():
                init.parent.mkdir(parents=True, exist_ok=True)
                init.write_text(f'"""{package.as_posix().replace("/", ".")}."""\n')
                written.append(init)
        text = source.read_text(encoding="utf-8") if source.exists() else _new_module(module, ops)
        if SCAFFOLD_CALL not in top_level_names(source) and IMPORT not in text:
            text = _add_import(text)
        defined = top_level_names(source)
        for op in ops:
            assert op.target is not None
            if op.target[1] not in defined:
                text = text.rstrip("\n") + "\n\n\n" + render_function(op)
                defined.add(op.target[1])
        source.write_text(text, encoding="utf-8")
        written.append(source)
    tidy(written)
    return written


def tidy(files: list[Path]) -> None:
    """Sort imports and format the files written, with the project's ruff (when installed)."""
    beside = Path(sys.executable).with_name("ruff")
    ruff = str(beside) if beside.exists() else shutil.which("ruff")
    if not ruff or not files:
        return
    paths = [str(f) for f in files]
    subprocess.run([ruff, "check", "--quiet", "--fix", "--select", "I", *paths], check=False)
    subprocess.run([ruff, "format", "--quiet", *paths], check=False)
