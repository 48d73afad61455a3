"""The surface the Harnesslayer product serves."""

from __future__ import annotations

from agentyard.core.http_guard import BodyLimit
from agentyard.core.surfaces import Surface
from agentyard.harnesslayer import SURFACE, auth, bootstrap, bundles, errors

# The modules that register tables, migrations, tasks or hooks when imported.
MODULES = (
    "agentyard.harnesslayer.apps",
    "agentyard.harnesslayer.auth",
    "agentyard.harnesslayer.bundle_models",
    "agentyard.harnesslayer.bundles",
    "agentyard.harnesslayer.channels",
    "agentyard.harnesslayer.models",
    "agentyard.harnesslayer.people_models",
    "agentyard.harnesslayer.profiles",
    "agentyard.harnesslayer.run_models",
    "agentyard.harnesslayer.runs",
    "agentyard.harnesslayer.snapshots",
    "agentyard.harnesslayer.sync",
    "agentyard.harnesslayer.upload_expiry",
    "agentyard.harnesslayer.webhooks",
)

SURFACES = (
    Surface(
        name=SURFACE,
        mount="/harnesslayer",
        title="Harnesslayer API",
        tenant_label="organization",
        error_shape=errors.shape,
        new_secret=auth.new_org_secret,
        mint=bootstrap.mint,
        describe_key=bootstrap.describe,
        bootstrap=bootstrap.bootstrap,
        auth_headers=lambda secret: {"Authorization": f"Bearer {secret}"},
        key_kinds=auth.KINDS,
        body_limits={bundles.UPLOAD_PATH_PATTERN: BodyLimit(bundles.max_file_bytes, streamed=True)},
    ),
)
