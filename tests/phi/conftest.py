"""The PHI engine loads once per test session (about 2 s)."""

from __future__ import annotations

import pytest

from agentyard.phi import guard as guard_module


@pytest.fixture(scope="session")
def guard() -> guard_module.Guard:
    return guard_module.get_guard()
