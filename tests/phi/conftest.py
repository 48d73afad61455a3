"""The PHI engine loads once per test session (about 2 s).

``guard`` scans in this process (its analyzer can be patched by the fail-closed tests); the
scanner-process pool has its own tests (test_pool.py) and fixture, ``pool_guard``.
"""

from __future__ import annotations

import pytest

from agentyard.phi import guard as guard_module


@pytest.fixture(scope="session")
def guard() -> guard_module.Guard:
    return guard_module.Guard(processes=0)


@pytest.fixture(scope="session")
def pool_guard():
    g = guard_module.Guard(processes=2, cache=None)
    yield g
    g.close()
