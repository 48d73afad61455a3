"""Surfaces are declared by their products (agentyard/<product>/surface.py) and loaded loudly.

The registry checks run in a fresh interpreter: the test session has long imported every
module, so only a fresh one shows what loading the surfaces alone registers.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agentyard import surfaces

ROOT = Path(__file__).resolve().parents[2]

# Loads the surfaces with `migrations.register` recording its caller, notes which module
# defines each table, migration and task, then imports every other module of agentyard and
# of the handlers and notes what that added.
PROBE = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys
    import agentyard, handlers
    from agentyard.core import jobs, migrations
    from agentyard.core.store import BaseModel

    callers = {}
    register = migrations.register

    def recording(component, steps):
        callers[component] = sys._getframe(1).f_globals["__name__"]
        register(component, steps)

    migrations.register = recording

    def models():
        found, todo = {}, [BaseModel]
        while todo:
            for sub in todo.pop().__subclasses__():
                found[sub.__module__ + "." + sub.__qualname__] = sub.__module__
                todo.append(sub)
        return found

    def state():
        return {
            "migrations": dict(callers),
            "models": models(),
            "tasks": {n: t.__module__ for n, t in jobs.huey._registry._registry.items()},
        }

    from agentyard import surfaces
    loaded = state()
    loaded["declared"] = surfaces.declared_modules()
    for pkg in (agentyard, handlers):
        for info in pkgutil.walk_packages(pkg.__path__, prefix=pkg.__name__ + "."):
            importlib.import_module(info.name)
    print(json.dumps({"loaded": loaded, "everything": state()}))
    """
)


@pytest.fixture(scope="module")
def probe() -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_surfaces_keep_their_mounts() -> None:
    """New surfaces come after these (`agentyard surfaces new` appends to PRODUCTS); a
    product's further surfaces (HASP Studio, the HASP org runtime) sit with their product."""
    mounts = {name: s.mount for name, s in surfaces.SURFACES.items()}
    known = ("aisp-hub", "hasp-ai", "hasp-studio", "hasp-runtime", "harnesslayer", "hyphen")
    assert {name: mounts.get(name) for name in known} == {
        "aisp-hub": "/aisp-hub",
        "hasp-ai": "/hasp-ai",
        "hasp-studio": "/hasp-studio",
        "hasp-runtime": "/hasp-runtime",
        "harnesslayer": "/harnesslayer",
        "hyphen": "/hyphen",
    }
    assert list(surfaces.SURFACES)[: len(known)] == list(known)
    assert surfaces.products() == sorted(surfaces.PRODUCTS)


@pytest.mark.parametrize("kind", ["migrations", "models", "tasks"])
def test_loading_the_surfaces_registers_everything(probe: dict, kind: str) -> None:
    """Importing every other module adds no table, migration or task: none is undeclared."""
    loaded, everything = probe["loaded"][kind], probe["everything"][kind]
    missed = {name: module for name, module in everything.items() if name not in loaded}
    assert not missed, f"registered by modules no surface.py (or core) declares: {missed}"


@pytest.mark.parametrize("kind", ["migrations", "models", "tasks"])
def test_every_registration_comes_from_a_declared_module(probe: dict, kind: str) -> None:
    """Each is registered by a declared module itself, not by one it happens to import."""
    declared = set(probe["loaded"]["declared"]) | {"agentyard.core.migrations"}
    stray = {n: m for n, m in probe["loaded"][kind].items() if m not in declared}
    assert not stray, f"registered by undeclared modules (add them to MODULES): {stray}"


def _product(tmp_path: Path, name: str, modules: tuple[str, ...], files: dict[str, str]) -> str:
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "surface.py").write_text(f"SURFACES = ()\nMODULES = {modules!r}\n")
    for file, text in files.items():
        (package / file).write_text(text)
    return name


@pytest.fixture
def fake_products(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("kreg_fake_")]:
        del sys.modules[name]


def test_a_declared_module_that_is_missing_fails_loudly(fake_products: Path) -> None:
    name = _product(fake_products, "kreg_fake_missing", ("kreg_fake_missing.tables",), {})
    with pytest.raises(
        ImportError, match=r"kreg_fake_missing: cannot import kreg_fake_missing\.tables"
    ):
        surfaces.load([name])


def test_a_declared_module_that_cannot_import_fails_loudly(fake_products: Path) -> None:
    files = {"tables.py": "import agentyard.no_such_engine\n"}
    name = _product(fake_products, "kreg_fake_broken", ("kreg_fake_broken.tables",), files)
    with pytest.raises(ImportError) as raised:
        surfaces.load([name])
    assert "kreg_fake_broken: cannot import kreg_fake_broken.tables" in str(raised.value)
    assert "agentyard.no_such_engine" in str(raised.value)


def test_a_product_may_declare_only_its_own_modules(fake_products: Path) -> None:
    name = _product(fake_products, "kreg_fake_greedy", ("agentyard.aisp.models",), {})
    with pytest.raises(ValueError, match="another package"):
        surfaces.load([name])


def test_a_surface_py_imports_only_its_product_and_core() -> None:
    for product in surfaces.PRODUCTS:
        tree = ast.parse((ROOT / "agentyard" / product / "surface.py").read_text())
        imported = [
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        ]
        allowed = ("__future__", f"agentyard.{product}", "agentyard.core")
        wrong = [m for m in imported if not any(m == a or m.startswith(a + ".") for a in allowed)]
        assert not wrong, f"agentyard/{product}/surface.py imports {wrong}"
