"""The surfaces agentyard serves, declared by each product in `agentyard/<product>/surface.py`.

A product package (listed in `PRODUCTS`: `agentyard/aisp`, `agentyard/hasp`, ...) declares in
its `surface.py`:
- `SURFACES`, a tuple of `core.surfaces.Surface` (spec, mount, error shape, keys and bootstrap
  of each surface it serves);
- `MODULES`, the modules of the package that register something when imported: peewee tables
  and their migrations, background tasks, webhook resolvers, cleanup hooks.
A `surface.py` imports only its own product and core: products never import each other.
Core's own registering modules are named once, in `core.surfaces.CORE_MODULES`; engines'
(agentyard/flows, ...) in `ENGINE_MODULES` below.

Loading imports core's modules, then each product's `surface.py` and every module it declares;
one that cannot be imported stops the start with an ImportError naming the product and module.

Why declared lists rather than importing every module of each package by convention: importing
everything would also load the engines some modules need only when serving (the PHI
recognizers alone add seconds to every CLI command), and import orders the app never uses.
The list cannot go silently stale: `tests/core/test_surfaces_registry.py` loads the surfaces,
then imports every other module of agentyard and fails, naming the module, when that registers
another table, migration or task, or when a registering module is not declared itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from agentyard.core.surfaces import CORE_MODULES, SPECS, Minter, Surface

__all__ = [
    "ENGINE_MODULES",
    "PRODUCTS",
    "SPECS",
    "SURFACES",
    "Minter",
    "Surface",
    "declared_modules",
    "get",
    "load",
    "products",
]

PACKAGE = "agentyard"
# The product packages, in the order the landing page and the CLI list their surfaces. Each
# has a `surface.py`; one missing here, or listed without it, fails the start.
PRODUCTS: tuple[str, ...] = ("aisp", "hasp", "harnesslayer", "hyphen")
# Engine modules (agentyard/llm|phi|messaging|flows|specs) that register tables, migrations or
# tasks when imported; loaded after core, before the products.
ENGINE_MODULES: tuple[str, ...] = ("agentyard.flows.models", "agentyard.flows.runs")
_ROOT = Path(__file__).resolve().parent


def products(root: Path = _ROOT) -> list[str]:
    """The product packages under `root` (those with a `surface.py`), sorted by name."""
    return sorted(p.parent.name for p in root.glob("*/surface.py"))


def _import(module: str, owner: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{owner}: cannot import {module}: {exc}", name=module) from exc


def _declared(surface_module: ModuleType, package: str) -> tuple[tuple[Surface, ...], list[str]]:
    surfaces = getattr(surface_module, "SURFACES", None)
    modules = getattr(surface_module, "MODULES", None)
    if not isinstance(surfaces, tuple) or not all(isinstance(s, Surface) for s in surfaces):
        raise TypeError(f"{package}.surface.SURFACES must be a tuple of Surface")
    if not isinstance(modules, tuple) or not all(isinstance(m, str) for m in modules):
        raise TypeError(f"{package}.surface.MODULES must be a tuple of module names")
    outside = [m for m in modules if not m.startswith(f"{package}.")]
    if outside:
        raise ValueError(f"{package}.surface.MODULES names modules of another package: {outside}")
    return surfaces, list(modules)


def load_product(package: str) -> tuple[Surface, ...]:
    """Import the product package `package` (a dotted name): its `surface.py`, then every
    module that declares; the surfaces it serves. ImportError naming the product and the
    module when one cannot be imported."""
    surfaces, modules = _declared(_import(f"{package}.surface", package), package)
    for module in modules:
        _import(module, package)
    return surfaces


def load(packages: Iterable[str]) -> dict[str, Surface]:
    """Core's and the engines' registering modules, then every product package in `packages`,
    loaded; their surfaces by name, in order (ValueError when two declare the same name)."""
    for module in CORE_MODULES:
        _import(module, "core")
    for module in ENGINE_MODULES:
        _import(module, "engines")
    found: dict[str, Surface] = {}
    for package in packages:
        for s in load_product(package):
            if s.name in found:
                raise ValueError(f"surface {s.name!r} is declared twice (again by {package})")
            found[s.name] = s
    return found


def declared_modules() -> list[str]:
    """Every module declared to register something: core's, the engines', each product's."""
    found = list(CORE_MODULES) + list(ENGINE_MODULES)
    for package in _listed():
        found += _declared(importlib.import_module(f"{package}.surface"), package)[1]
    return found


def _listed() -> list[str]:
    """PRODUCTS as dotted names; ImportError when it and the `surface.py` files disagree."""
    found = products()
    if sorted(PRODUCTS) != found:
        raise ImportError(
            f"agentyard.surfaces.PRODUCTS {sorted(PRODUCTS)} does not match the product "
            f"packages with a surface.py {found}: list each one exactly once"
        )
    return [f"{PACKAGE}.{name}" for name in PRODUCTS]


SURFACES: dict[str, Surface] = load(_listed())


def get(name: str) -> Surface:
    """A surface by name; KeyError listing the known ones otherwise."""
    if name not in SURFACES:
        raise KeyError(f"unknown surface {name!r}; known: {', '.join(SURFACES)}")
    return SURFACES[name]
