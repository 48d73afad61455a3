"""The browser SDK's credentials: publishable keys (`pk_live_`), their users and sessions.

- A publishable key is minted by an account's management token (`/gateway/orgs/{orgId}/
  sdk-keys`) or by the operator (`agentyard keys create --surface hyphen --kind pk_live`). It is
  meant to sit in a web page: it opens nothing but `POST /sdk/auth/session`, and only from an
  origin it allows (a request with no `Origin` header, i.e. not from a browser, is let through).
- A session token (`sdk_sess_<48 hex>`, stored as its SHA-256 digest) opens every other `/sdk`
  route, as `Authorization: Bearer` (or `?session_token=` on the event stream). It expires after
  AGENTYARD_HYPHEN_SDK_SESSION_SECONDS (1 h); revoking its key ends it at once.
- Every `/sdk` request counts against its key's rate limit (default 60 per minute).

Handlers read the caller as an `SdkCaller` (`handlers.hyphen.security.sdk_caller()`); what it
may touch is checked with `agentyard.hyphen.sdk_access`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from agentyard.core import clock, cors, ids, keys, runtime
from agentyard.core.errors import ApiError, conflict, forbidden, invalid, not_found, unauthorized
from agentyard.core.keys import ApiKey, Tenant
from agentyard.core.store import write
from agentyard.hyphen import SURFACE, usage
from agentyard.hyphen.gateway import Manager, find_org
from agentyard.hyphen.gateway_models import AccountOrg
from agentyard.hyphen.sdk_models import SdkKey, SdkKeyOrigin, SdkSession, SdkUser

KIND = "pk_live"
PREFIX = "pk_live_"
SESSION_PREFIX = "sdk_sess_"
DEFAULT_RATE_LIMIT = 60
MAX_RATE_LIMIT = 100_000
MAX_SCOPE_ITEMS = 100
ANY = "*"  # in allowed_workflows / tables / actions: every one

# 401 codes (in `details.code`) a browser can act on
SESSION_EXPIRED = "session_expired"
SESSION_REVOKED = "session_revoked"
SESSION_INVALID = "session_invalid"


def new_secret() -> str:
    """A publishable key: `pk_live_<32 hex>`."""
    return keys.random_secret(PREFIX)


@dataclass(frozen=True)
class Scopes:
    """What a publishable key allows; workflows may be named by id or name; `*` means all."""

    origins: tuple[str, ...] = ()
    workflows: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT


@dataclass(frozen=True)
class KeyCaller:
    """A request presenting a publishable key (only `POST /sdk/auth/session` takes one)."""

    org_id: str
    key_id: str
    scopes: Scopes


@dataclass(frozen=True)
class SdkCaller:
    """An SDK session: its org, key, what the key allows and, once signed in, its user.

    `user_email`/`user_role` are None for an anonymous session.
    """

    org_id: str
    key_id: str
    session_id: str
    expires_at: dt.datetime
    allowed_origins: tuple[str, ...]
    allowed_workflows: tuple[str, ...]
    allowed_tables: tuple[str, ...]
    allowed_actions: tuple[str, ...]
    rate_limit_per_minute: int
    user_id: str | None = None
    user_email: str | None = None
    user_role: str | None = None
    user_display_name: str | None = None

    @property
    def authenticated(self) -> bool:
        """Whether the session signed in as a user (OTP)."""
        return self.user_email is not None

    @property
    def actor(self) -> str:
        """How decisions and audits name the caller: the user's email, else the session id."""
        return self.user_email or self.session_id


# -- scopes --------------------------------------------------------------------------------


def _names(values: Sequence[str], what: str) -> tuple[str, ...]:
    if len(values) > MAX_SCOPE_ITEMS:
        raise invalid(f"{what}: at most {MAX_SCOPE_ITEMS} entries")
    out: list[str] = []
    for value in values:
        value = value.strip()
        if not value or len(value) > 200:
            raise invalid(f"{what}: each entry is 1-200 characters")
        out.append(value)
    return tuple(dict.fromkeys(out))


def check_scopes(
    origins: Sequence[str],
    workflows: Sequence[str],
    tables: Sequence[str],
    actions: Sequence[str],
    rate_limit_per_minute: int | None,
) -> Scopes:
    """Validated scopes: origins are `http(s)://host[:port]` (kept in lower case)."""
    normal: list[str] = []
    for origin in _names(origins, "allowed_origins"):
        value = cors.normalize_origin(origin.rstrip("/"))
        if value is None:
            raise invalid(
                f"allowed_origins: {origin!r} is not an origin like https://app.example.com"
            )
        normal.append(value)
    rate = DEFAULT_RATE_LIMIT if rate_limit_per_minute is None else rate_limit_per_minute
    if not 1 <= rate <= MAX_RATE_LIMIT:
        raise invalid(f"rate_limit_per_minute must be 1-{MAX_RATE_LIMIT}")
    return Scopes(
        origins=tuple(dict.fromkeys(normal)),
        workflows=_names(workflows, "allowed_workflows"),
        tables=_names(tables, "allowed_tables"),
        actions=_names(actions, "allowed_actions"),
        rate_limit_per_minute=rate,
    )


def scopes_of(row: SdkKey) -> Scopes:
    return Scopes(
        origins=tuple(row.allowed_origins or ()),
        workflows=tuple(row.allowed_workflows or ()),
        tables=tuple(row.allowed_tables or ()),
        actions=tuple(row.allowed_actions or ()),
        rate_limit_per_minute=row.rate_limit_per_minute,
    )


# -- keys ----------------------------------------------------------------------------------


def mint(tenant: Tenant, label: str, scopes: Scopes) -> tuple[ApiKey, SdkKey, str]:
    """A new publishable key of `tenant` (inside the caller's write transaction)."""
    key, secret = keys.create_key(tenant, new_secret, name=label, kind=KIND)
    row = SdkKey.create(
        key=key,
        org=tenant,
        allowed_origins=list(scopes.origins),
        allowed_workflows=list(scopes.workflows),
        allowed_tables=list(scopes.tables),
        allowed_actions=list(scopes.actions),
        rate_limit_per_minute=scopes.rate_limit_per_minute,
    )
    for origin in scopes.origins:
        SdkKeyOrigin.create(key=key, origin=origin)
    return key, row, secret


def create_key(
    manager: Manager, org_id: str, label: str, scopes: Scopes
) -> tuple[ApiKey, SdkKey, str]:
    """A new publishable key of the account's org; the secret is shown once."""
    org = find_org(manager, org_id)
    with write():
        return mint(Tenant.get_by_id(org.org_id), label, scopes)


def org_keys(manager: Manager, org_id: str) -> list[tuple[ApiKey, SdkKey]]:
    """The org's publishable keys, live and revoked, oldest first."""
    org = find_org(manager, org_id)
    rows = (
        ApiKey.select(ApiKey, SdkKey)
        .join(SdkKey, on=(SdkKey.key == ApiKey.id))
        .where((ApiKey.tenant == org.org_id) & (ApiKey.kind == KIND))
        .order_by(ApiKey.created_at, ApiKey.id)
    )
    return [(k, k.sdkkey) for k in rows]  # type: ignore[attr-defined]


def _org_key(manager: Manager, org_id: str, key_id: str, live: bool) -> tuple[ApiKey, SdkKey]:
    org = find_org(manager, org_id)
    where = (ApiKey.id == key_id) & (ApiKey.tenant == org.org_id) & (ApiKey.kind == KIND)
    if live:
        where &= ApiKey.revoked_at.is_null()
    key = ApiKey.get_or_none(where)
    row = SdkKey.get_or_none(SdkKey.key == key_id) if key is not None else None
    if key is None or row is None:
        raise not_found("publishable key", key_id)
    return key, row


def revoke_key(manager: Manager, org_id: str, key_id: str) -> tuple[ApiKey, SdkKey]:
    """Revoke a live publishable key: its sessions end at once (404 when none)."""
    with write():
        key, row = _org_key(manager, org_id, key_id, live=True)
        key.revoked_at = clock.now()
        key.save()
        SdkKeyOrigin.delete().where(SdkKeyOrigin.key == key_id).execute()
    return key, row


def key_view(key: ApiKey, row: SdkKey) -> dict[str, object]:
    """How a publishable key is shown once its secret is gone."""
    scopes = scopes_of(row)
    return {
        "id": key.id,
        "label": key.name,
        "prefix": keys.shown(key),
        "allowed_origins": list(scopes.origins),
        "allowed_workflows": list(scopes.workflows),
        "allowed_tables": list(scopes.tables),
        "allowed_actions": list(scopes.actions),
        "rate_limit_per_minute": scopes.rate_limit_per_minute,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked": key.revoked_at is not None,
    }


def any_key_allows(origin: str) -> bool:
    """Whether some live publishable key allows `origin` (normalized): the preflight rule."""
    return (
        SdkKeyOrigin.select(SdkKeyOrigin.id)
        .join(ApiKey, on=(SdkKeyOrigin.key == ApiKey.id))
        .where((SdkKeyOrigin.origin == origin) & ApiKey.revoked_at.is_null())
        .exists()
    )


def origin_allowed(allowed: Sequence[str], origin: str | None) -> bool:
    """Whether a request from `origin` may use a key allowing `allowed` (no Origin: yes)."""
    if origin is None:
        return True
    normal = cors.normalize_origin(origin)
    return normal is not None and normal in allowed


def check_origin(allowed: Sequence[str], origin: str | None, scope: object) -> None:
    """Tell the CORS middleware what the key decided; 403 for an origin it does not allow."""
    ok = origin_allowed(allowed, origin)
    if origin is not None:
        cors.decide(scope, ok)
    if not ok:
        raise forbidden(f"This publishable key does not allow the origin {origin}")


# -- users ---------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    manager: Manager,
    org_id: str,
    key_id: str,
    email: str,
    role: str,
    display_name: str | None,
    permissions: Sequence[str],
) -> SdkUser:
    """Pre-register a user on a live publishable key (409 when the email is there)."""
    email = normalize_email(email)
    with write():
        key, row = _org_key(manager, org_id, key_id, live=True)
        if SdkUser.get_or_none((SdkUser.key == key.id) & (SdkUser.email == email)):
            raise conflict(f"{email} is already registered on this key")
        return SdkUser.create(
            id=ids.new_id("sdku"),
            key=key,
            org=row.org_id,
            email=email,
            role=role,
            display_name=display_name,
            permissions=list(dict.fromkeys(permissions)),
            created_at=clock.now(),
        )


def users(manager: Manager, org_id: str, key_id: str) -> list[SdkUser]:
    """The key's users, oldest first."""
    key, _ = _org_key(manager, org_id, key_id, live=False)
    return list(SdkUser.select().where(SdkUser.key == key.id).order_by(SdkUser.created_at))


def delete_user(manager: Manager, org_id: str, key_id: str, user_id: str) -> SdkUser:
    """Remove a user: their signed-in sessions end at once (404 when none)."""
    with write():
        key, _ = _org_key(manager, org_id, key_id, live=False)
        user = SdkUser.get_or_none((SdkUser.id == user_id) & (SdkUser.key == key.id))
        if user is None:
            raise not_found("SDK user", user_id)
        SdkSession.delete().where(SdkSession.user == user.id).execute()
        user.delete_instance(recursive=True)
    return user


def user_view(user: SdkUser) -> dict[str, object]:
    return {
        "id": user.id,
        "key_id": user.key_id,
        "email": user.email,
        "role": user.role,
        "display_name": user.display_name,
        "permissions": list(user.permissions or []),
        "created_at": user.created_at,
    }


# -- callers -------------------------------------------------------------------------------


def limit(key_id: str, per_minute: int) -> None:
    """Count one request against the key's own limit; 429 with Retry-After past it."""
    runtime.limiter().enforce(per_minute, SURFACE, "sdk", key_id)


def from_publishable_key(secret: str) -> KeyCaller:
    """The org and scopes of a `pk_live_` key; 401 otherwise. Counts against its limit."""
    if not secret.startswith(PREFIX):
        raise unauthorized("Expected a publishable key: X-Publishable-Key: pk_live_...")
    key = keys.lookup(SURFACE, secret, kind=KIND)
    row = SdkKey.get_or_none(SdkKey.key == key.id) if key is not None else None
    if key is None or row is None:
        raise unauthorized("Invalid or revoked publishable key")
    keys.touch(key)
    scopes = scopes_of(row)
    limit(key.id, scopes.rate_limit_per_minute)
    usage.record_request(key.id, row.org_id)
    return KeyCaller(org_id=row.org_id, key_id=key.id, scopes=scopes)


def _session_error(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, details={"code": code})


def start_session(caller: KeyCaller, origin: str | None) -> tuple[SdkSession, str]:
    """A new anonymous session of the caller's key; the token is shown once."""
    token = keys.random_secret(SESSION_PREFIX, 24)
    now = clock.now()
    ttl = runtime.settings().hyphen_sdk_session_seconds
    with write():
        row = SdkSession.create(
            id=ids.new_id("sdks"),
            digest=keys.digest(token),
            key=caller.key_id,
            org=caller.org_id,
            origin=cors.normalize_origin(origin) if origin else None,
            created_at=now,
            expires_at=now + dt.timedelta(seconds=ttl),
        )
    return row, token


def from_session_token(token: str) -> SdkCaller:
    """The session a token opens; 401 (`details.code`: session_invalid, session_expired,
    session_revoked) otherwise. Counts against its key's limit."""
    if not token.startswith(SESSION_PREFIX) or len(token) > 256:
        raise _session_error(SESSION_INVALID, "Expected an SDK session token: Bearer sdk_sess_...")
    row = SdkSession.get_or_none(SdkSession.digest == keys.digest(token))
    if row is None:
        raise _session_error(SESSION_INVALID, "Unknown SDK session token")
    if row.expires_at <= clock.now():
        raise _session_error(SESSION_EXPIRED, "The SDK session expired; start a new one")
    key = ApiKey.get_or_none((ApiKey.id == row.key_id) & ApiKey.revoked_at.is_null())
    scope_row = SdkKey.get_or_none(SdkKey.key == row.key_id) if key is not None else None
    if key is None or scope_row is None:
        raise _session_error(SESSION_REVOKED, "The publishable key of this session was revoked")
    scopes = scopes_of(scope_row)
    limit(key.id, scopes.rate_limit_per_minute)
    usage.record_request(key.id, row.org_id)
    user = SdkUser.get_or_none(SdkUser.id == row.user_id) if row.user_id else None
    return SdkCaller(
        org_id=row.org_id,
        key_id=row.key_id,
        session_id=row.id,
        expires_at=row.expires_at,
        allowed_origins=scopes.origins,
        allowed_workflows=scopes.workflows,
        allowed_tables=scopes.tables,
        allowed_actions=scopes.actions,
        rate_limit_per_minute=scopes.rate_limit_per_minute,
        user_id=user.id if user else None,
        user_email=user.email if user else None,
        user_role=user.role if user else None,
        user_display_name=user.display_name if user else None,
    )


def session_view(caller: SdkCaller) -> dict[str, object]:
    """The session as `GET /sdk/config` and the sign-in answer show it."""
    return {
        "session_id": caller.session_id,
        "expires_at": caller.expires_at,
        "authenticated": caller.authenticated,
        "user": (
            {
                "email": caller.user_email,
                "role": caller.user_role,
                "display_name": caller.user_display_name,
            }
            if caller.authenticated
            else None
        ),
    }


def config(caller: SdkCaller) -> dict[str, object]:
    """What the session's key allows, its org and the session."""
    org = AccountOrg.get_or_none(AccountOrg.org == caller.org_id)
    name = org.name if org is not None else Tenant.get_by_id(caller.org_id).name
    return {
        "org": {"id": caller.org_id, "name": name},
        "key_id": caller.key_id,
        "allowed_origins": list(caller.allowed_origins),
        "allowed_workflows": list(caller.allowed_workflows),
        "allowed_tables": list(caller.allowed_tables),
        "allowed_actions": list(caller.allowed_actions),
        "rate_limit_per_minute": caller.rate_limit_per_minute,
        "session": session_view(caller),
    }
