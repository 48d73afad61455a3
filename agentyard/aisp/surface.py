"""The surface the AISP Hub product serves."""

from __future__ import annotations

from agentyard.aisp import SURFACE, bootstrap
from agentyard.core.errors import default_shape
from agentyard.core.surfaces import Surface

# The modules that register tables, migrations, tasks or hooks when imported.
MODULES = ("agentyard.aisp.models",)

SURFACES = (
    Surface(
        name=SURFACE,
        mount="/aisp-hub",
        title="AISP Hub API v1",
        tenant_label="realm",
        error_shape=default_shape,
        new_secret=bootstrap.new_secret,
        mint=bootstrap.mint,
        describe_key=bootstrap.describe,
        bootstrap=bootstrap.bootstrap,
        auth_headers=lambda secret: {"X-AISP-Key": secret},
    ),
)
