"""The authenticated caller of the HASP AI API (a leaf module: every HASP module may use it)."""

from __future__ import annotations

from dataclasses import dataclass

from agentyard.core.keys import ApiKey, Tenant


@dataclass(frozen=True)
class Caller:
    """An authenticated API key and the organization it belongs to."""

    org: Tenant
    key: ApiKey

    @property
    def scopes(self) -> set[str]:
        return set(self.key.scope_list)
