"""Which HASP org a runtime request is for: the tenant name core.tenant_mount found (path
segment or Host subdomain), as a HASP org, and the absolute URLs of the org's runtime."""

from __future__ import annotations

from dataclasses import dataclass

from agentyard.core import tenant_mount
from agentyard.core.errors import ApiError
from agentyard.core.keys import Tenant
from agentyard.hasp import SURFACE as ORGS


@dataclass(frozen=True)
class OrgPlace:
    """The org a request is for and where its runtime is served."""

    org: Tenant
    place: tenant_mount.TenantPlace

    def url(self, path: str) -> str:
        return self.place.url(path)


def org_not_found(name: str | None) -> ApiError:
    what = f"No organization {name!r} here" if name else "The request names no organization"
    return ApiError(404, "ORG_NOT_FOUND", what)


def current() -> OrgPlace:
    """The org of the running request; 404 `ORG_NOT_FOUND` when it names none or an unknown one."""
    place = tenant_mount.current()
    name = place.name if place is not None else None
    org = Tenant.get_or_none((Tenant.surface == ORGS) & (Tenant.name == name)) if name else None
    if org is None or place is None:
        raise org_not_found(name)
    return OrgPlace(org, place)
