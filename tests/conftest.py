"""Shared fixtures for every test: the app per backend and its live server (tests/kit/server.py).

Every test that uses `server`/`app` runs once per backend (see tests/kit/server.py).
"""

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
