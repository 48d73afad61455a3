"""What a product declares for each API surface it serves (`agentyard/<product>/surface.py`).

A product package serves one or more surfaces; its `surface.py` lists them in `SURFACES`, a
tuple of `Surface`. `agentyard.surfaces` finds those modules and loads every module of each
product package (see its docstring). Core modules that register tables, migrations or tasks
at import time are named once, in `CORE_MODULES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from agentyard.core import keys
from agentyard.core.cors import CorsPolicy
from agentyard.core.errors import ErrorShape
from agentyard.core.http_guard import BodyLimit
from agentyard.core.tenant_mount import TenantRouting

SPECS = Path(__file__).resolve().parents[2] / "specs"

# Core modules that register migrations, tasks or resolvers when imported (core.keys and
# core.migrations are imported by everything that uses keys or migrations).
CORE_MODULES: tuple[str, ...] = (
    "agentyard.core.audit",
    "agentyard.core.blobs.secret",
    "agentyard.core.keys",
    "agentyard.core.outbox",
    "agentyard.core.timestamping",
    "agentyard.core.vault",
    "agentyard.core.webhooks",
)


class Minter(Protocol):
    """A surface's way to mint a key for the operator: the tenant `tenant` (created with its
    product rows when new), a key of `kind` with `scopes` (None: the surface's default), and
    notes naming URLs under `base_url` (where the surface is served). KeyRequestError when the
    request cannot be honoured. Used by first-start bootstrap and `agentyard keys create`."""

    def __call__(
        self, tenant: str, *, kind: str, scopes: list[str] | None, name: str, base_url: str
    ) -> keys.Minted: ...


@dataclass(frozen=True)
class Surface:
    """One API surface: where it is mounted and how its tenants and keys look."""

    name: str
    mount: str
    title: str
    tenant_label: str
    error_shape: ErrorShape
    new_secret: Callable[[], str]
    mint: Minter
    describe_key: Callable[[keys.ApiKey], str]  # whom a key acts for, as the operator names it
    # First start on an empty store: the dev tenant and its keys; the lines to print, whose
    # URLs start with the base URL it is given (where the surface is served).
    bootstrap: Callable[[str], list[str]]
    auth_headers: Callable[[str], dict[str, str]]  # headers that present an API key secret
    key_kinds: tuple[str, ...] = (keys.DEFAULT_KIND,)
    # Sub-paths (under the mount) answering errors in another shape, e.g. Anthropic's.
    error_shapes: dict[str, ErrorShape] = field(default_factory=dict)
    # Sub-path regexes (under the mount) with their own body rules, e.g. file uploads larger
    # than `max_body_bytes`, read as a stream (see `core.http_guard.register_limit`).
    body_limits: dict[str, BodyLimit] = field(default_factory=dict)
    request_id_prefix: str | None = None  # numbers requests (`request-id` header) when set
    complete: bool = True  # False while its issue is open: scaffolds may still answer 501
    # One-off work the first request would otherwise pay (e.g. starting the PHI scanners), run
    # in a background thread when the app is created; a failure is logged, never raised.
    warm: Callable[[], object] | None = None
    # Browser-facing sub-paths answering CORS (preflights included), see `core.cors`.
    cors: CorsPolicy | None = None
    # Served per tenant: `<mount>/{tenant}/...`, or `{tenant}.<domain>` alone (core.tenant_mount).
    tenant_routing: TenantRouting | None = None

    @property
    def spec(self) -> Path:
        return SPECS / f"{self.name}.yaml"
