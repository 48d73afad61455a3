"""`agentyard surfaces new NAME --spec FILE`: everything a new surface needs beyond handlers.

Following docs/adding-a-surface.md, from a spec that names its servers, its security schemes
(with their `x-apikeyInfoFunc` / `x-bearerInfoFunc` under `handlers.<module>.security`) and
operations resolving to `handlers.<module>.*`, it writes (templates in scaffold_templates/):

- specs/NAME.yaml (a copy of FILE, when FILE is elsewhere);
- agentyard/<product>/: `__init__.py` (SURFACE), `bootstrap.py` (keys, dev tenant: a
  `core.tenant_keys.TenantKeys`), `auth.py` (`Caller`, `authenticate(secret)`), `errors.py`
  (the error shape), `surface.py` (SURFACES and MODULES);
- handlers/<module>/: `__init__.py` and `security.py` (`core.security.security_info` for each
  scheme's info function, `caller()`);
- tests/<module>/: `conftest.py` (`key`, `http`) and `test_contract.py` (tests/kit);
- the product in `agentyard.surfaces.PRODUCTS` and in pyproject.toml's layer of products;

then `python codegen.py` writes the models and a 501 scaffold per operation. Nothing is written
when NAME or any of these files exists already, or when the spec lacks what they need.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

import yaml

from agentyard.specs import operations
from agentyard.specs.scaffold import tidy

ROOT = Path(__file__).resolve().parents[1]  # the source tree (an editable install's checkout)
TEMPLATES = Path(__file__).resolve().parent / "scaffold_templates"
NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
MAX_NAME = 32  # core_tenant.surface and core_api_key.surface
PRODUCT = re.compile(r"[a-z][a-z0-9_]*")
INFO_KEYS = {"apiKey": "x-apikeyInfoFunc", "http": "x-bearerInfoFunc"}
PRODUCTS_TUPLE = re.compile(r"(PRODUCTS: tuple\[str, \.\.\.\] = \()([^)]*)(\))")
PRODUCTS_LAYER = re.compile(r'^(\s*")(agentyard\.\w+(?: \| agentyard\.\w+)*)(",?)\s*$', re.M)


class ScaffoldError(Exception):
    """The surface cannot be scaffolded: the message says why and what to change."""


@dataclass(frozen=True)
class Scheme:
    """A security scheme of the spec, as the scaffold wires it."""

    name: str  # the key under components.securitySchemes
    info_function: str  # the function name in handlers/<module>/security.py
    header: str  # the header that presents the key
    bearer: bool  # `Authorization: Bearer <secret>`


@dataclass(frozen=True)
class Plan:
    """What `write` will create for one surface."""

    root: Path
    name: str  # the surface: specs/<name>.yaml, mount /<name>
    module: str  # handlers/<module>/, tests/<module>/, generated/<module>/
    product: str  # agentyard/<product>/
    title: str
    tenant_label: str
    source: Path  # the spec given
    schemes: tuple[Scheme, ...]

    @property
    def spec(self) -> Path:
        return self.root / "specs" / f"{self.name}.yaml"

    def files(self) -> dict[Path, str]:
        """Every file to write (relative to the root) with its text."""
        values = self._values()
        names = {
            f"agentyard/{self.product}/__init__.py": "product_init.py",
            f"agentyard/{self.product}/bootstrap.py": "product_bootstrap.py",
            f"agentyard/{self.product}/auth.py": "product_auth.py",
            f"agentyard/{self.product}/errors.py": "product_errors.py",
            f"agentyard/{self.product}/surface.py": "product_surface.py",
            f"handlers/{self.module}/__init__.py": "handlers_init.py",
            f"handlers/{self.module}/security.py": "handlers_security.py",
            f"tests/{self.module}/__init__.py": "tests_init.py",
            f"tests/{self.module}/conftest.py": "tests_conftest.py",
            f"tests/{self.module}/test_contract.py": "tests_contract.py",
        }
        return {
            Path(path): Template((TEMPLATES / f"{template}.tmpl").read_text()).substitute(values)
            for path, template in names.items()
        }

    def _values(self) -> dict[str, str]:
        first = self.schemes[0]
        if first.bearer:
            headers, presented = '{"Authorization": f"Bearer {secret}"}', "Authorization: Bearer"
        else:
            headers, presented = f"{{{first.header!r}: secret}}", first.header
        auth = {s.name: {"bearer" if s.bearer else "api_key": "SECRET"} for s in self.schemes}
        return {
            "surface": self.name,
            "module": self.module,
            "product": self.product,
            "title": self.title.replace('"', "'"),
            "tenant_label": self.tenant_label,
            "secret_prefix": f"{self.module}_key_",
            "presented_as": presented,
            "auth_headers": headers.replace("'", '"'),
            "info_functions": self._info_functions(),
            "schemathesis_auth": repr(auth).replace("'SECRET'", "key.secret").replace("'", '"'),
        }

    def _info_functions(self) -> str:
        """`<first> = security_info(...)` and every other scheme's function as an alias."""
        seen: list[str] = []
        for s in self.schemes:
            if s.info_function not in seen:
                seen.append(s.info_function)
        lines = [f"{seen[0]} = security_info(auth.authenticate, sub=lambda c: c.key_id)"]
        lines += [f"{other} = {seen[0]}" for other in seen[1:]]
        return "\n".join(lines) + "\n"


def plan(
    name: str,
    spec: Path,
    *,
    product: str | None = None,
    tenant_label: str = "tenant",
    root: Path = ROOT,
) -> Plan:
    """Check that surface `name` can be scaffolded from `spec` under `root`; ScaffoldError
    saying why not (a name taken, a file already there, the spec lacking what is needed)."""
    root = root.resolve()
    if not (root / "codegen.py").is_file() or not (root / "agentyard" / "surfaces.py").is_file():
        raise ScaffoldError(f"{root} is not an agentyard source tree (no codegen.py)")
    if not NAME.fullmatch(name) or len(name) > MAX_NAME:
        raise ScaffoldError(
            f"surface name {name!r}: lowercase letters and digits in '-'-separated words, "
            f"starting with a letter, at most {MAX_NAME} characters"
        )
    module = name.replace("-", "_")
    product = product or module
    if not PRODUCT.fullmatch(product):
        raise ScaffoldError(f"product package {product!r} is not a lowercase Python identifier")
    spec = spec.resolve()
    target = root / "specs" / f"{name}.yaml"
    taken = [
        p
        for p in (
            root / "agentyard" / product,
            root / "handlers" / module,
            root / "tests" / module,
            root / "generated" / module,
        )
        if p.exists()
    ]
    if target.exists() and target != spec:
        taken.append(target)
    if taken:
        where = ", ".join(str(p.relative_to(root)) for p in taken)
        raise ScaffoldError(f"surface {name!r} exists already: {where}")
    document = _load(spec)
    found = Plan(
        root,
        name,
        module,
        product,
        _title(document),
        tenant_label,
        spec,
        _schemes(document, module),
    )
    _check_operations(found, document)
    return found


def _load(spec: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(spec.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScaffoldError(f"cannot read the spec {spec}: {exc}") from None
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
        raise ScaffoldError(f"{spec} is not an OpenAPI 3 document")
    servers = document.get("servers")
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        raise ScaffoldError(
            f"{spec} names no servers: add `servers: [{{url: https://api.example.com}}]` "
            "(the product's own URL; agentyard serves the surface under its mount)"
        )
    return document


def _title(document: dict[str, Any]) -> str:
    info = document.get("info")
    title = info.get("title") if isinstance(info, dict) else None
    if not isinstance(title, str) or not title.strip():
        raise ScaffoldError("the spec has no info.title")
    return title.strip()


def _schemes(document: dict[str, Any], module: str) -> tuple[Scheme, ...]:
    """The spec's security schemes, each with an info function in handlers/<module>/security."""
    components = document.get("components")
    declared = components.get("securitySchemes") if isinstance(components, dict) else None
    if not isinstance(declared, dict) or not declared:
        raise ScaffoldError(
            "the spec declares no security scheme: add one under components.securitySchemes "
            f"(type apiKey in a header, or http bearer) with x-apikeyInfoFunc: "
            f"handlers.{module}.security.api_key_info, and a top-level `security` using it"
        )
    schemes = []
    prefix = f"handlers.{module}.security."
    for name, scheme in declared.items():
        kind = scheme.get("type") if isinstance(scheme, dict) else None
        if kind == "apiKey" and scheme.get("in") == "header" and scheme.get("name"):
            header, bearer = str(scheme["name"]), False
        elif kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
            header, bearer = "Authorization", True
        else:
            raise ScaffoldError(
                f"security scheme {name}: the scaffold wires an apiKey in a header or an http "
                "bearer scheme; write this one by hand"
            )
        info = scheme.get(INFO_KEYS[str(kind)])
        if not isinstance(info, str) or not info.startswith(prefix) or "." in info[len(prefix) :]:
            raise ScaffoldError(
                f"security scheme {name}: set {INFO_KEYS[str(kind)]}: {prefix}<function> "
                f"(e.g. {prefix}{'bearer' if bearer else 'api_key'}_info)"
            )
        schemes.append(Scheme(str(name), info[len(prefix) :], header, bearer))
    return tuple(schemes)


def _check_operations(p: Plan, document: dict[str, Any]) -> None:
    """Every operation has an operationId resolving under handlers/<module>/ and a security
    requirement (its own or the spec's)."""
    ops = operations.operations(p.source)
    if not ops:
        raise ScaffoldError("the spec has no operations")
    prefix = f"handlers.{p.module}."
    stray = [
        op.label for op in ops if op.target is None or not (op.target[0] + ".").startswith(prefix)
    ]
    if stray:
        raise ScaffoldError(
            f"operations without an operationId resolving under {prefix} (set "
            f"x-openapi-router-controller: {prefix}<module>): {', '.join(stray)}"
        )
    secured = bool(document.get("security"))
    for path_item in (document.get("paths") or {}).values():
        for method, operation in (path_item or {}).items():
            if method in operations.METHODS and isinstance(operation, dict):
                secured = secured or bool(operation.get("security"))
    if not secured:
        raise ScaffoldError("no operation is secured: add a top-level `security: [{<scheme>: []}]`")


def write(p: Plan) -> list[Path]:
    """Write the surface's files and registrations under `p.root`; the paths written."""
    written: list[Path] = []
    if p.spec != p.source:
        p.spec.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p.source, p.spec)
        written.append(p.spec)
    for relative, text in p.files().items():
        path = p.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    surfaces, products = _register_product(p)
    written.append(surfaces)
    layers = _add_to_layers(p, products)
    if layers is not None:
        written.append(layers)
    tidy([f for f in written if f.suffix == ".py"])
    return written


def _register_product(p: Plan) -> tuple[Path, list[str]]:
    """Append the product to `agentyard.surfaces.PRODUCTS`; the file and the products now."""
    path = p.root / "agentyard" / "surfaces.py"
    text = path.read_text(encoding="utf-8")
    match = PRODUCTS_TUPLE.search(text)
    if match is None:
        raise ScaffoldError(f"cannot find `PRODUCTS: tuple[str, ...] = (...)` in {path}")
    listed = re.findall(r'"(\w+)"', match.group(2)) + [p.product]
    items = ", ".join(f'"{product}"' for product in listed)
    path.write_text(text[: match.start(2)] + items + text[match.end(2) :], encoding="utf-8")
    return path, listed


def _add_to_layers(p: Plan, products: list[str]) -> Path | None:
    """Add the product to pyproject.toml's import-linter layer of independent products (the
    line listing agentyard.<product> | ...); None when there is no such line."""
    path = p.root / "pyproject.toml"
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    for match in PRODUCTS_LAYER.finditer(text):
        members = {m.removeprefix("agentyard.") for m in match.group(2).split(" | ")}
        if len(members) > 1 and members <= set(products):
            updated = f"{match.group(2)} | agentyard.{p.product}"
            path.write_text(text[: match.start(2)] + updated + text[match.end(2) :])
            return path
    return None


def codegen(root: Path) -> int:
    """Run `python codegen.py` in `root` (models, 501 scaffolds); its exit status."""
    return subprocess.run([sys.executable, "codegen.py"], cwd=root, check=False).returncode


def next_steps(p: Plan) -> list[str]:
    """What the developer does after the scaffold, in order."""
    return [
        f"write each handler in handlers/{p.module}/ (codegen's scaffolds answer 501), its "
        f"logic in agentyard/{p.product}/ (the tables' modules go in surface.py's MODULES)",
        f"check the error shape in agentyard/{p.product}/errors.py against the spec's errors",
        f"pytest tests/{p.module} -q  (the contract test leaves out operations still scaffolds)",
        f"once none is a scaffold: complete=True in agentyard/{p.product}/surface.py, and add "
        f"'{p.name}' to tests/contract/test_live_cli.py",
    ]
