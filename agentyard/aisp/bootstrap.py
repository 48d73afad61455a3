"""Keys for the operator (first start and `agentyard keys`): realm API keys.

On first start: a dev realm `default` with one API key, printed once (`core.tenant_keys`).
"""

from __future__ import annotations

import re

from agentyard.aisp import SURFACE
from agentyard.core import keys
from agentyard.core.keys import KeyRequestError
from agentyard.core.tenant_keys import TenantKeys

DEV_REALM = "default"
REALM_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # the spec's RealmName


def new_secret() -> str:
    """An AISP Hub API key: `aisp_key_<32 hex>`."""
    return keys.random_secret("aisp_key_")


def check_realm_name(name: str) -> str:
    """`name` when a request can name it as a realm; KeyRequestError otherwise."""
    if not REALM_NAME.fullmatch(name):
        raise KeyRequestError(
            f"realm name {name!r} is not one requests can name: lowercase letters, digits, "
            "'_' and '-', starting with a letter or digit, at most 63 characters"
        )
    return name


KEYS = TenantKeys(
    SURFACE,
    new_secret,
    tenant_label="realm",
    presented_as="X-AISP-Key",
    dev_tenant=DEV_REALM,
    check_name=check_realm_name,
)
mint = KEYS.mint
describe = KEYS.describe
bootstrap = KEYS.bootstrap
