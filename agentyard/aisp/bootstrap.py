"""First start: a dev realm `default` with one API key, printed once."""

from __future__ import annotations

from agentyard.aisp import SURFACE
from agentyard.core import keys


def new_secret() -> str:
    """An AISP Hub API key: `aisp_key_<32 hex>`."""
    return keys.random_secret("aisp_key_")


def bootstrap() -> list[str]:
    """Create the dev realm and key when the store has no realm yet; lines to print."""
    if keys.has_tenants(SURFACE):
        return []
    realm, _ = keys.get_or_create_tenant(SURFACE, "default")
    key, secret = keys.create_key(realm, new_secret, name="dev")
    return [f"aisp-hub: realm 'default', API key {secret} (X-AISP-Key; shown once)"]
