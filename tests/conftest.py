"""Shared fixtures for every test: the app per backend and its live server (tests/kit/server.py).

Every test that uses `server`/`app` runs once per backend (see tests/kit/server.py), except
those marked `embedded_only`: what they check does not depend on the store or pub/sub (a 501
probe, a CLI hint's wording), so their `scaled` runs are deselected at collection.

Schemathesis's OpenAPI loader is imported here, at collection, not lazily by the first
contract test: there it was compiled while the live server's threads were busy, and CPython
3.11's AST validation keeps its recursion depth in state shared by threads, so a compile that
overlaps another one can fail with "SystemError: AST constructor recursion depth mismatch"
(seen in CI on two contract tests' setup).
"""

import compileall
import os
import sys
from pathlib import Path

import schemathesis.generation.jsonschema.strategy
import schemathesis.specs.openapi.schemas  # noqa: F401  (see above)

from tests.kit.server import (  # noqa: F401  (fixtures, and names other tests import from here)
    BACKENDS,
    PG_URL,
    REDIS_URL,
    TEST_SETTINGS,
    Backend,
    app,
    backend,
    free_port,
    scratch_pg_database,
    server,
    settings,
)


def pytest_xdist_auto_num_workers(config) -> int:
    """`-n auto`: one worker per core, plus one. Many test files spend much of their time
    waiting on a server, CLI or Schemathesis process they started (a whole run used ~77 % of
    two cores with two workers); a third worker runs its tests in those waits. Measured with
    fewer contract examples in the same change: pytest 2057 s -> 1948 s on two cores, each
    test slower under the extra load; compare 2 and 3 workers back to back before relying on
    the third."""
    return (os.cpu_count() or 1) + 1


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "embedded_only: run on the embedded backend only (store-independent checks)"
    )
    if sys.dont_write_bytecode and not hasattr(config, "workerinput"):
        _compile_project()


def _compile_project() -> None:
    """Write the project's bytecode once, before the workers start.

    Where PYTHONDONTWRITEBYTECODE is set (it is on the CI machines) nothing writes it, so every
    process the tests start (`agentyard serve`, each CLI command, every xdist worker) compiled
    the project's sources again: about half a second of CPU each, hundreds of times a run.
    Python still reads bytecode that exists; `compileall` writes it whatever that setting says.
    """
    root = Path(__file__).resolve().parents[1]
    for package in ("agentyard", "handlers", "generated", "tests"):
        compileall.compile_dir(root / package, quiet=2, workers=0)


def pytest_collection_modifyitems(config, items) -> None:
    """Deselect the `scaled` runs of tests marked `embedded_only`."""
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        scaled = "scaled" in params.values()
        (drop if scaled and item.get_closest_marker("embedded_only") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
