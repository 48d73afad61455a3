"""Shared fixtures for every test: the app per backend and its live server (tests/kit/server.py).

Every test that uses `server`/`app` runs once per backend (see tests/kit/server.py).

Schemathesis's OpenAPI loader is imported here, at collection, not lazily by the first
contract test: there it was compiled while the live server's threads were busy, and CPython
3.11's AST validation keeps its recursion depth in state shared by threads, so a compile that
overlaps another one can fail with "SystemError: AST constructor recursion depth mismatch"
(seen in CI on two contract tests' setup).
"""

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
