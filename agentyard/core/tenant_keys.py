"""The plain key setup of a surface: tenants are `core.keys` tenants, keys take no scopes.

Most of what a surface's `bootstrap.py` and `auth.py` do is the same for every surface whose
tenants need no product rows of their own: mint a key for a tenant (created when new), name
whom a key acts for, make the dev tenant and key on first start, and turn a presented secret
into its live key or a 401. `TenantKeys` does those once:

    KEYS = TenantKeys(SURFACE, new_secret, tenant_label="realm", presented_as="X-Key")
    Surface(..., mint=KEYS.mint, describe_key=KEYS.describe, bootstrap=KEYS.bootstrap)

    def authenticate(secret: str) -> Caller:
        key = KEYS.authenticate(secret)
        return Caller(tenant=key.tenant, key_id=key.id)

A surface with scopes, several key kinds or product rows made with each tenant writes its own
(see `agentyard/hasp/bootstrap.py`, `agentyard/harnesslayer/bootstrap.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agentyard.core import keys
from agentyard.core.errors import unauthorized
from agentyard.core.keys import ApiKey, Minted, Tenant
from agentyard.core.store import write

DEV_TENANT = "default"


@dataclass(frozen=True)
class TenantKeys:
    """Minting, describing, bootstrapping and authenticating the `kind` keys of `surface`."""

    surface: str
    new_secret: Callable[[], str]
    tenant_label: str = "tenant"  # how the operator names a tenant: "realm", "org", ...
    presented_as: str = "API key"  # how a request presents the key, for the first-start line
    kind: str = keys.DEFAULT_KIND
    dev_tenant: str = DEV_TENANT
    # The tenant name when a request can use it; KeyRequestError otherwise. Default: 1-128
    # characters without control characters (`keys.check_tenant_name`).
    check_name: Callable[[str], str] | None = None

    def ensure_tenant(self, name: str) -> tuple[Tenant, bool]:
        """The tenant `name`, created when new (after `check_name`)."""
        checked = (
            self.check_name(name)
            if self.check_name is not None
            else keys.check_tenant_name(name, self.tenant_label)
        )
        return keys.get_or_create_tenant(self.surface, checked)

    def mint(
        self, tenant: str, *, kind: str, scopes: list[str] | None, name: str, base_url: str
    ) -> Minted:
        """A key of tenant `tenant` (created when new); these keys take no scopes."""
        keys.choose_scopes(scopes, known=(), default=())
        keys.check_kind(kind, (self.kind,))
        with write():
            owner, created = self.ensure_tenant(tenant)
            key, secret = keys.create_key(owner, self.new_secret, name=name, kind=self.kind)
        label = f"{self.tenant_label} {owner.name}"
        return Minted(key, secret, label, (label,) if created else ())

    def describe(self, key: ApiKey) -> str:
        """Whom a key acts for: its tenant's name."""
        return key.tenant.name

    def bootstrap(self, base_url: str) -> list[str]:
        """The dev tenant and its key when the surface has no tenant yet; lines to print."""
        if keys.has_tenants(self.surface):
            return []
        minted = self.mint(
            self.dev_tenant, kind=self.kind, scopes=None, name="dev", base_url=base_url
        )
        return [
            f"{self.surface}: {self.tenant_label} '{self.dev_tenant}', API key "
            f"{minted.secret} ({self.presented_as}; shown once)"
        ]

    def authenticate(self, secret: str) -> ApiKey:
        """The live key `secret` is (its last use recorded), with its tenant; 401 otherwise."""
        key = keys.lookup(self.surface, secret, self.kind)
        if key is None:
            raise unauthorized()
        keys.touch(key)
        return key
