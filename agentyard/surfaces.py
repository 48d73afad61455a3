"""The surfaces agentyard serves: spec, mount, error shape, keys and bootstrap of each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

# Imported for their side effect: each registers its migrations.
import agentyard.aisp.models
import agentyard.core.audit
import agentyard.core.blobs
import agentyard.core.timestamping
import agentyard.core.vault
import agentyard.core.webhooks
import agentyard.harnesslayer.apps  # also registers its background tasks
import agentyard.harnesslayer.bundle_models
import agentyard.harnesslayer.channels  # also registers the channel webhook resolver
import agentyard.harnesslayer.models
import agentyard.harnesslayer.people_models
import agentyard.harnesslayer.profiles  # also registers its background tasks
import agentyard.harnesslayer.run_models
import agentyard.harnesslayer.runs  # also registers its background tasks
import agentyard.harnesslayer.snapshots  # also registers its background tasks
import agentyard.harnesslayer.sync  # also registers its background tasks
import agentyard.harnesslayer.upload_expiry  # also registers its background tasks
import agentyard.harnesslayer.webhooks  # also registers the delivery resolver
import agentyard.hasp.models
import agentyard.hasp.webhooks  # noqa: F401  (also registers the HASP secret resolver)
from agentyard.aisp import bootstrap as aisp_bootstrap
from agentyard.core import keys
from agentyard.core.errors import ErrorShape, default_shape
from agentyard.core.http_guard import BodyLimit
from agentyard.harnesslayer import auth as hl_auth
from agentyard.harnesslayer import bootstrap as hl_bootstrap
from agentyard.harnesslayer import bundles as hl_bundles
from agentyard.harnesslayer import errors as hl_errors
from agentyard.hasp import auth as hasp_auth
from agentyard.hasp import bootstrap as hasp_bootstrap
from agentyard.hasp import errors as hasp_errors

SPECS = Path(__file__).resolve().parent.parent / "specs"


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

    @property
    def spec(self) -> Path:
        return SPECS / f"{self.name}.yaml"


SURFACES: dict[str, Surface] = {
    s.name: s
    for s in [
        Surface(
            name="aisp-hub",
            mount="/aisp-hub",
            title="AISP Hub API v1",
            tenant_label="realm",
            error_shape=default_shape,
            new_secret=aisp_bootstrap.new_secret,
            mint=aisp_bootstrap.mint,
            describe_key=aisp_bootstrap.describe,
            bootstrap=aisp_bootstrap.bootstrap,
            auth_headers=lambda secret: {"X-AISP-Key": secret},
        ),
        Surface(
            name="hasp-ai",
            mount="/hasp-ai",
            title="HASP AI API V1",
            tenant_label="org",
            error_shape=hasp_errors.hasp_shape,
            new_secret=hasp_auth.new_secret,
            mint=hasp_bootstrap.mint,
            describe_key=hasp_bootstrap.describe,
            bootstrap=hasp_bootstrap.bootstrap,
            auth_headers=lambda secret: {"x-api-key": secret},
            error_shapes={
                "/v1/messages": hasp_errors.anthropic_shape,
                "/v1/models": hasp_errors.anthropic_shape,
            },
            request_id_prefix="req_",
        ),
        Surface(
            name="harnesslayer",
            mount="/harnesslayer",
            title="Harnesslayer API",
            tenant_label="organization",
            error_shape=hl_errors.shape,
            new_secret=hl_auth.new_org_secret,
            mint=hl_bootstrap.mint,
            describe_key=hl_bootstrap.describe,
            bootstrap=hl_bootstrap.bootstrap,
            auth_headers=lambda secret: {"Authorization": f"Bearer {secret}"},
            key_kinds=hl_auth.KINDS,
            body_limits={
                hl_bundles.UPLOAD_PATH_PATTERN: BodyLimit(hl_bundles.max_file_bytes, streamed=True)
            },
        ),
    ]
}


def get(name: str) -> Surface:
    """A surface by name; KeyError listing the known ones otherwise."""
    if name not in SURFACES:
        raise KeyError(f"unknown surface {name!r}; known: {', '.join(SURFACES)}")
    return SURFACES[name]
