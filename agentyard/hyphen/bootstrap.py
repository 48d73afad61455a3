"""Keys for the operator (first start and `agentyard keys`): org API keys (`sk-hyp-`) and
publishable SDK keys (`--kind pk_live`, scopes `origin:<url>`, `workflow:<id or name>`,
`table:<name>`, `action:<name>` (`*`: all), `rate:<per minute>`).

On first start: a dev org `default` with one key, printed once.
"""

from __future__ import annotations

from agentyard.core import keys
from agentyard.core.errors import ApiError
from agentyard.core.keys import ApiKey, Minted
from agentyard.core.store import write
from agentyard.hyphen import SURFACE, sdk
from agentyard.hyphen.auth import new_secret

DEV_ORG = "default"


def mint(tenant: str, *, kind: str, scopes: list[str] | None, name: str, base_url: str) -> Minted:
    """An API key (or, of kind `pk_live`, a publishable key) of the org `tenant` (created
    when new)."""
    keys.check_kind(kind, (keys.DEFAULT_KIND, sdk.KIND))
    keys.check_tenant_name(tenant, "org")
    if kind == sdk.KIND:
        return _mint_publishable(tenant, scopes or [], name)
    keys.choose_scopes(scopes, known=(), default=())  # Hyphen org keys have no scopes
    with write():
        org, created = keys.get_or_create_tenant(SURFACE, tenant)
        key, secret = keys.create_key(org, new_secret, name=name)
    return Minted(key, secret, f"org {org.name}", (f"org {org.name}",) if created else ())


SDK_SCOPES = {"origin": "origins", "workflow": "workflows", "table": "tables", "action": "actions"}


def _mint_publishable(tenant: str, scopes: list[str], name: str) -> Minted:
    found: dict[str, list[str]] = {field: [] for field in SDK_SCOPES.values()}
    rate: int | None = None
    for scope in scopes:
        kind, _, value = scope.partition(":")
        if kind == "rate" and value.isdigit():
            rate = int(value)
        elif kind in SDK_SCOPES and value:
            found[SDK_SCOPES[kind]].append(value)
        else:
            raise keys.KeyRequestError(
                f"unknown publishable key scope {scope!r}; use origin:<url>, workflow:<id|name>, "
                "table:<name>, action:<name> (* for all) or rate:<per minute>"
            )
    try:
        checked = sdk.check_scopes(
            found["origins"], found["workflows"], found["tables"], found["actions"], rate
        )
    except ApiError as exc:
        raise keys.KeyRequestError(exc.message) from exc
    with write():
        org, created = keys.get_or_create_tenant(SURFACE, tenant)
        key, _, secret = sdk.mint(org, name, checked)
    notes = (
        f"publishable key: origins {', '.join(checked.origins) or 'none (no browser may use it)'}"
        f"; workflows {', '.join(checked.workflows) or 'none'}; tables "
        f"{', '.join(checked.tables) or 'none'}; actions {', '.join(checked.actions) or 'none'}; "
        f"{checked.rate_limit_per_minute}/min",
    )
    return Minted(key, secret, f"org {org.name}", (f"org {org.name}",) if created else (), notes)


def describe(key: ApiKey) -> str:
    """Whom a key acts for: its org's name."""
    return f"org {key.tenant.name}"


def bootstrap(base_url: str) -> list[str]:
    """Create the dev org and key when the store has no Hyphen org yet; lines to print."""
    if keys.has_tenants(SURFACE):
        return []
    minted = mint(DEV_ORG, kind=keys.DEFAULT_KIND, scopes=None, name="dev", base_url=base_url)
    return [f"hyphen: org '{DEV_ORG}', API key {minted.secret} (Authorization: Bearer; shown once)"]
