"""Core tests drive the AISP Hub as the reference surface."""

from tests.aisp_hub.conftest import hub_url, make_realm  # noqa: F401
