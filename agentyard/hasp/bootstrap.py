"""First start: a dev organization `default` with one all-scope API key, printed once."""

from __future__ import annotations

from agentyard.core import keys
from agentyard.hasp import SURFACE
from agentyard.hasp.auth import SCOPES, new_secret


def bootstrap() -> list[str]:
    """Create the dev org and key when the store has no HASP org yet; lines to print."""
    if keys.has_tenants(SURFACE):
        return []
    org, _ = keys.get_or_create_tenant(SURFACE, "default")
    _, secret = keys.create_key(org, new_secret, name="dev", scopes=list(SCOPES))
    return [
        f"hasp-ai: org 'default', API key {secret} (all scopes; shown once). "
        "Accept the BAA first: POST /v1/compliance/baa/acceptances"
    ]
