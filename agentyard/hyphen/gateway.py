"""The gateway: signup accounts (tenants), the orgs they own and those orgs' API keys.

`POST /gateway/signup` makes an account, its first org, a management token (`mt-hyp-`, a core
API key of kind `management` on that first org, looked up in its own kind so it never opens
an engine route) and a first org key (`sk-hyp-`, `full`). A management token sees only its
account's orgs: any other org id is a 404. Org names are unique within an account; the core
tenant behind an org is named `<account id>/<org name>` so two accounts may both have `acme`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from agentyard.core import clock, keys, runtime
from agentyard.core.errors import conflict, not_found, unauthorized
from agentyard.core.keys import ApiKey, Tenant
from agentyard.core.store import write
from agentyard.hyphen import SURFACE, auth
from agentyard.hyphen.gateway_models import Account, AccountOrg

MANAGEMENT_KIND = "management"
MANAGEMENT_PREFIX = "mt-hyp-"


def new_management_secret() -> str:
    """A management token: `mt-hyp-<48 hex>`."""
    return keys.random_secret(MANAGEMENT_PREFIX, 24)


@dataclass(frozen=True)
class Manager:
    """An authenticated account: its id and the management token's key id."""

    account_id: str
    key_id: str


def from_token(secret: str) -> Manager:
    """The account an `mt-hyp-` token belongs to; 401 otherwise."""
    if not secret.startswith(MANAGEMENT_PREFIX):
        raise unauthorized("Expected a management token: Authorization: Bearer mt-hyp-...")
    key = keys.lookup(SURFACE, secret, kind=MANAGEMENT_KIND)
    account = None
    if key is not None:
        account = Account.get_or_none(Account.token == key.id)
    if key is None or account is None:
        raise unauthorized("Invalid or revoked management token")
    keys.touch(key)
    auth.rate_limit("management", key.id)
    return Manager(account_id=account.id, key_id=key.id)


def _tenant_name(account_id: str, name: str) -> str:
    return f"{account_id}/{name}"


def _new_org(account: Account, name: str) -> AccountOrg:
    if AccountOrg.get_or_none((AccountOrg.account == account.id) & (AccountOrg.name == name)):
        raise conflict(f"This account already has an org named {name!r}")
    tenant, _ = keys.get_or_create_tenant(SURFACE, _tenant_name(account.id, name))
    return AccountOrg.create(org=tenant, account=account, name=name, created_at=clock.now())


def signup(email: str, name: str) -> dict[str, Any]:
    """A new account with its first org `default`, management token and full org key."""
    email = email.strip().lower()
    with write():
        if Account.get_or_none(Account.email == email) is not None:
            raise conflict("An account with this email already exists")
        account = Account.create(
            id=f"acct-{uuid.uuid4()}", email=email, name=name, created_at=clock.now()
        )
        org = _new_org(account, "default")
        token, token_secret = keys.create_key(
            org.org, new_management_secret, name="management", kind=MANAGEMENT_KIND
        )
        account.token = token
        account.save()
        key, key_secret = keys.create_key(org.org, auth.new_secret, name="default")
    return {
        "account": account_view(account),
        "management_token": token_secret,
        "org": org_view(org),
        "api_key": {**key_view(key), "key": key_secret},
    }


def account(manager: Manager) -> Account:
    """The manager's account."""
    return Account.get_by_id(manager.account_id)


def account_view(row: Account) -> dict[str, Any]:
    """How an account is shown."""
    orgs = AccountOrg.select().where(AccountOrg.account == row.id).count()
    return {
        "id": row.id,
        "email": row.email,
        "name": row.name,
        "org_count": orgs,
        "created_at": row.created_at,
    }


def orgs(manager: Manager) -> list[AccountOrg]:
    """The account's orgs, oldest first."""
    return list(
        AccountOrg.select()
        .where(AccountOrg.account == manager.account_id)
        .order_by(AccountOrg.created_at, AccountOrg.name)
    )


def create_org(manager: Manager, name: str) -> AccountOrg:
    """A new org of the account (409 when it has one of that name)."""
    with write():
        return _new_org(account(manager), name)


def find_org(manager: Manager, org_id: str) -> AccountOrg:
    """The account's org `org_id`; 404 for any other (another account's too)."""
    row = AccountOrg.get_or_none(
        (AccountOrg.org == org_id) & (AccountOrg.account == manager.account_id)
    )
    if row is None:
        raise not_found("org", org_id)
    return row


def org_view(row: AccountOrg) -> dict[str, Any]:
    """How an org is shown: its id is what `X-Org-Id` and every engine table scope by."""
    return {"id": row.org_id, "name": row.name, "created_at": row.created_at}


def org_keys(manager: Manager, org_id: str) -> list[ApiKey]:
    """The org's API keys (live and revoked), oldest first."""
    org = find_org(manager, org_id)
    return list(
        ApiKey.select()
        .where(
            (ApiKey.tenant == org.org_id)
            & (ApiKey.surface == SURFACE)
            & (ApiKey.kind == keys.DEFAULT_KIND)
        )
        .order_by(ApiKey.created_at, ApiKey.id)
    )


def create_key(manager: Manager, org_id: str, label: str, permission: str) -> tuple[ApiKey, str]:
    """A new `sk-hyp-` key of the org with `permission`; the secret is shown once."""
    org = find_org(manager, org_id)
    scopes = [] if permission == auth.FULL else [permission]
    with write():
        tenant = Tenant.get_by_id(org.org_id)
        return keys.create_key(tenant, auth.new_secret, name=label, scopes=scopes)


def key_view(key: ApiKey) -> dict[str, Any]:
    """How an org key is shown once its secret is gone."""
    return {
        "id": key.id,
        "label": key.name,
        "permissions": auth.permission_of(key.scope_list),
        "prefix": keys.shown(key),
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked": key.revoked_at is not None,
    }


def limit_signups(client: str) -> None:
    """Count one signup from `client` (its address); 429 past
    AGENTYARD_HYPHEN_SIGNUPS_PER_MINUTE."""
    per_minute = runtime.settings().hyphen_signups_per_minute
    runtime.limiter().enforce(per_minute, SURFACE, "signup", client)


def regenerate_token(manager: Manager) -> str:
    """A new management token for the account; the one used is revoked at once."""
    with write():
        row = account(manager)
        old = ApiKey.get_by_id(manager.key_id)
        token, secret = keys.create_key(
            old.tenant, new_management_secret, name="management", kind=MANAGEMENT_KIND
        )
        row.token = token
        row.save()
        old.revoked_at = clock.now()
        old.save()
    return secret


def rename_org(manager: Manager, org_id: str, name: str) -> AccountOrg:
    """Rename an org of the account (409 when it has another of that name)."""
    with write():
        org = find_org(manager, org_id)
        if name != org.name:
            taken = AccountOrg.get_or_none(
                (AccountOrg.account == manager.account_id) & (AccountOrg.name == name)
            )
            if taken is not None:
                raise conflict(f"This account already has an org named {name!r}")
            Tenant.update(name=_tenant_name(manager.account_id, name)).where(
                Tenant.id == org.org_id
            ).execute()
            org.name = name
            org.save()
    return org


def _live_key(manager: Manager, org_id: str, key_id: str) -> ApiKey:
    org = find_org(manager, org_id)
    key = ApiKey.get_or_none(
        (ApiKey.id == key_id)
        & (ApiKey.tenant == org.org_id)
        & (ApiKey.kind == keys.DEFAULT_KIND)
        & ApiKey.revoked_at.is_null()
    )
    if key is None:
        raise not_found("key", key_id)
    return key


def revoke_key(manager: Manager, org_id: str, key_id: str) -> ApiKey:
    """Revoke a live key of the org: refused by the very next request (404 when none)."""
    with write():
        key = _live_key(manager, org_id, key_id)
        key.revoked_at = clock.now()
        key.save()
    return key


def rotate_key(manager: Manager, org_id: str, key_id: str) -> tuple[ApiKey, str]:
    """A new key with the same label and permissions; the old one is revoked at once."""
    with write():
        old = _live_key(manager, org_id, key_id)
        key, secret = keys.create_key(
            old.tenant, auth.new_secret, name=old.name, scopes=old.scope_list
        )
        old.revoked_at = clock.now()
        old.save()
    return key, secret
