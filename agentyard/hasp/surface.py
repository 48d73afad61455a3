"""The surfaces the HASP product serves."""

from __future__ import annotations

from agentyard.core.surfaces import Surface
from agentyard.hasp import SURFACE, auth, bootstrap, errors, warmup

# The modules that register tables, migrations, tasks or hooks when imported.
MODULES = (
    "agentyard.hasp.models",
    "agentyard.hasp.ai.models",
    "agentyard.hasp.schema",
    "agentyard.hasp.webhooks",
)


SURFACES = (
    Surface(
        name=SURFACE,
        mount="/hasp-ai",
        title="HASP AI API V1",
        tenant_label="org",
        error_shape=errors.hasp_shape,
        new_secret=auth.new_secret,
        mint=bootstrap.mint,
        describe_key=bootstrap.describe,
        bootstrap=bootstrap.bootstrap,
        auth_headers=lambda secret: {"x-api-key": secret},
        error_shapes={
            "/v1/messages": errors.anthropic_shape,
            "/v1/models": errors.anthropic_shape,
        },
        request_id_prefix="req_",
        # The PHI scanner processes take seconds to start: not inside a client's first request.
        warm=warmup.start_phi_scanners,
    ),
)
