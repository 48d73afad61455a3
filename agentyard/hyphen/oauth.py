"""OAuth connections: an org's app credentials per provider, the authorization-code flow with
PKCE (S256), and the connected accounts' tokens (migrations component `hyphen-oauth`).

- App credentials: the client id in clear, the secret encrypted with `core.vault` (bound to
  the org and provider) and shown masked.
- `authorize`: a pending authorization row holds the PKCE verifier (encrypted) and the
  redirect URI; the `state` sent to the provider is a `core.tokens` token (its own domain,
  10 minutes) naming that row, the org and the provider. `callback` verifies the token, claims
  the row once (a replayed state is refused), exchanges the code at the provider's token URL
  with Authlib's OAuth 2 client, asks the provider's userinfo URL who the account is, and
  stores the connection's tokens encrypted.
- `access_token` gives a tool a live token, refreshing it first when it expires within a
  minute; a refresh the provider refuses (`invalid_grant`: revoked or expired) marks the
  connection `broken` with the provider's reason.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import peewee
import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from agentyard.core import clock, errors, tokens, vault
from agentyard.core.blobs.secret import signing_keys
from agentyard.core.keys import Tenant
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, put_row, write
from agentyard.hyphen import oauth_providers
from agentyard.hyphen.oauth_providers import Provider
from agentyard.hyphen.org_config import mask

STATE_TTL_SECONDS = 600
STATE_PURPOSE = "hyphen-oauth-state"
STATE_DOMAIN = b"agentyard hyphen oauth state v1\0"
REFRESH_MARGIN = dt.timedelta(seconds=60)
HTTP_TIMEOUT = 15.0


class OAuthApp(BaseModel):
    """An org's OAuth client for one provider; the secret is a vault token."""

    id = peewee.AutoField()
    org = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    org_id: str
    provider = peewee.CharField(max_length=32)
    client_id = peewee.CharField(max_length=512)
    client_secret = peewee.TextField()
    masked_secret = peewee.CharField(max_length=16)
    scopes = peewee.TextField(null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "hyphen_oauth_app"
        indexes = ((("org", "provider"), True),)


class PendingAuthorization(BaseModel):
    """An authorization in flight: its PKCE verifier, until the callback claims it once."""

    id = peewee.CharField(primary_key=True, max_length=64)
    org = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    org_id: str
    provider = peewee.CharField(max_length=32)
    verifier = peewee.TextField()
    redirect_uri = peewee.TextField()
    expires_at = peewee.DateTimeField()
    used_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hyphen_oauth_pending"


class Connection(BaseModel):
    """A connected account; its tokens are vault tokens bound to the org, provider, account."""

    id = peewee.AutoField()
    org = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    org_id: str
    provider = peewee.CharField(max_length=32)
    account_id = peewee.CharField(max_length=320)
    access_token = peewee.TextField()
    refresh_token = peewee.TextField(null=True)
    token_type = peewee.CharField(max_length=32, default="Bearer")
    scopes = peewee.TextField(null=True)
    expires_at = peewee.DateTimeField(null=True)
    status = peewee.CharField(max_length=16, default="active")
    error = peewee.TextField(null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()
    refreshed_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hyphen_oauth_connection"
        indexes = ((("org", "provider", "account_id"), True),)


register(
    "hyphen-oauth",
    [
        Migration(
            1,
            "OAuth app credentials, pending authorizations and connections",
            create_tables(OAuthApp, PendingAuthorization, Connection),
        )
    ],
)


# --- helpers ------------------------------------------------------------------------------


def provider_or_404(name: str) -> Provider:
    """The provider `name`; 404 when the catalogue has none."""
    provider = oauth_providers.get(name)
    if provider is None:
        raise errors.not_found("OAuth provider", name)
    return provider


def _ctx(*parts: str) -> str:
    return "hyphen.oauth:" + ":".join(parts)


def _signer() -> tokens.Signer:
    return tokens.Signer(signing_keys(), domain=STATE_DOMAIN)


# --- app credentials ----------------------------------------------------------------------


def app_view(row: OAuthApp) -> dict[str, Any]:
    """App credentials as the API shows them (the secret masked)."""
    return {
        "provider": row.provider,
        "client_id": row.client_id,
        "client_secret": row.masked_secret,
        "scopes": row.scopes.split() if row.scopes else None,
        "created_at": clock.iso(row.created_at),
        "updated_at": clock.iso(row.updated_at),
    }


def set_app(
    org_id: str, provider: str, client_id: str, client_secret: str, scopes: list[str] | None
) -> tuple[OAuthApp, bool]:
    """Store (or replace) the org's client for `provider`; the row and whether it is new."""
    provider_or_404(provider)
    token = vault.encrypt(client_secret, _ctx(org_id, provider, "client_secret"))
    scope_text = " ".join(scopes) if scopes else None
    now = clock.now()
    return put_row(
        OAuthApp,
        (OAuthApp.org == org_id) & (OAuthApp.provider == provider),
        new={"org": org_id, "provider": provider, "created_at": now},
        values={
            "client_id": client_id,
            "client_secret": token,
            "masked_secret": mask(client_secret),
            "scopes": scope_text,
            "updated_at": now,
        },
    )


def get_app(org_id: str, provider: str) -> OAuthApp | None:
    """The org's client for `provider`, if set."""
    return OAuthApp.get_or_none((OAuthApp.org == org_id) & (OAuthApp.provider == provider))


def _client(app: OAuthApp, provider: Provider, **kwargs: Any) -> OAuth2Session:
    secret = vault.decrypt(app.client_secret, _ctx(app.org_id, provider.name, "client_secret"))
    return OAuth2Session(
        app.client_id,
        secret,
        token_endpoint_auth_method="client_secret_post",
        timeout=HTTP_TIMEOUT,
        **kwargs,
    )


# --- the authorization-code flow ------------------------------------------------------------


def authorize(org_id: str, provider_name: str, redirect_uri: str) -> str:
    """The provider's authorization URL (state bound to the org, PKCE S256) to redirect to."""
    provider = provider_or_404(provider_name)
    app = get_app(org_id, provider.name)
    if app is None:
        raise errors.invalid(
            f"set the {provider.name} app credentials first "
            f"(POST /oauth/{provider.name}/app-credentials)"
        )
    verifier = generate_token(64)
    pending_id = secrets.token_hex(16)
    with write():
        # past their expiry, pending authorizations are refused by the state's own expiry
        PendingAuthorization.delete().where(PendingAuthorization.expires_at < clock.now()).execute()
        PendingAuthorization.create(
            id=pending_id,
            org=org_id,
            provider=provider.name,
            verifier=vault.encrypt(verifier, _ctx(org_id, provider.name, pending_id)),
            redirect_uri=redirect_uri,
            expires_at=clock.now() + dt.timedelta(seconds=STATE_TTL_SECONDS),
        )
    state = _signer().sign(
        STATE_PURPOSE, {"a": pending_id, "o": org_id, "p": provider.name}, STATE_TTL_SECONDS
    )
    scopes = app.scopes.split() if app.scopes else list(provider.scopes)
    client = _client(app, provider, scope=" ".join(scopes), redirect_uri=redirect_uri)
    url, _ = client.create_authorization_url(
        provider.authorize_url,
        state=state,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
        **provider.authorize_params,
    )
    return str(url)


def _claim(provider_name: str, state: str) -> tuple[PendingAuthorization, str]:
    try:
        claims = _signer().verify(state, STATE_PURPOSE)
    except tokens.ExpiredTokenError:
        raise errors.invalid("the authorization state has expired: start again") from None
    except tokens.TokenError:
        raise errors.invalid("the authorization state is not one this server issued") from None
    if claims.get("p") != provider_name:
        raise errors.invalid(f"the authorization state was not issued for {provider_name}")
    with write():
        claimed = (
            PendingAuthorization.update(used_at=clock.now())
            .where(
                (PendingAuthorization.id == str(claims.get("a")))
                & (PendingAuthorization.org == str(claims.get("o")))
                & (PendingAuthorization.used_at.is_null())
            )
            .execute()
        )
    if not claimed:
        raise errors.invalid("the authorization state was already used")
    row = PendingAuthorization.get_by_id(str(claims.get("a")))
    verifier = vault.decrypt(row.verifier, _ctx(row.org_id, row.provider, row.id))
    return row, verifier


def _account(provider: Provider, token: dict[str, Any]) -> str:
    try:
        r = requests.get(
            provider.userinfo_url,
            headers={"Authorization": f"Bearer {token['access_token']}"},
            timeout=HTTP_TIMEOUT,
        )
        info = r.json() if r.ok else {}
    except (requests.RequestException, ValueError):
        info = {}
    for name in provider.account_fields:
        value = info.get(name) if isinstance(info, dict) else None
        if isinstance(value, str) and value:
            return value[:320]
    raise errors.ApiError(
        502, "bad_gateway", f"{provider.name} did not say which account was connected"
    )


def _expiry(token: dict[str, Any]) -> dt.datetime | None:
    expires_at = token.get("expires_at")
    if isinstance(expires_at, int | float):
        return clock.to_naive(dt.datetime.fromtimestamp(float(expires_at), dt.UTC))
    return None


def callback(provider_name: str, code: str, state: str) -> Connection:
    """Finish an authorization: check `state`, exchange `code`, store the connection."""
    provider = provider_or_404(provider_name)
    pending, verifier = _claim(provider.name, state)
    if pending.expires_at < clock.now():
        raise errors.invalid("the authorization state has expired: start again")
    app = get_app(pending.org_id, provider.name)
    if app is None:
        raise errors.invalid(f"the {provider.name} app credentials were removed")
    client = _client(app, provider, redirect_uri=pending.redirect_uri)
    try:
        token = dict(
            client.fetch_token(
                provider.token_url,
                grant_type="authorization_code",
                code=code,
                code_verifier=verifier,
            )
        )
    except OAuthError as exc:
        raise errors.invalid(
            f"{provider.name} refused the authorization code: {exc.error}"
            + (f" ({exc.description})" if exc.description else "")
        ) from None
    except (requests.RequestException, ValueError) as exc:
        raise errors.ApiError(
            502, "bad_gateway", f"the {provider.name} token endpoint failed: {exc}"
        ) from None
    if not isinstance(token.get("access_token"), str):
        raise errors.ApiError(502, "bad_gateway", f"{provider.name} sent no access token")
    account = _account(provider, token)
    return _save(pending.org_id, provider.name, account, token)


def _save(org_id: str, provider: str, account: str, token: dict[str, Any]) -> Connection:
    ctx = _ctx(org_id, provider, account)
    now = clock.now()
    values = {
        "access_token": vault.encrypt(token["access_token"], ctx + ":access"),
        "token_type": str(token.get("token_type") or "Bearer")[:32],
        "scopes": token.get("scope") if isinstance(token.get("scope"), str) else None,
        "expires_at": _expiry(token),
        "status": "active",
        "error": None,
        "updated_at": now,
    }
    if isinstance(token.get("refresh_token"), str):
        values["refresh_token"] = vault.encrypt(token["refresh_token"], ctx + ":refresh")
    with write():
        row = get_connection(org_id, provider, account)
        if row is None:
            return Connection.create(
                org=org_id, provider=provider, account_id=account, created_at=now, **values
            )
        for name, value in values.items():
            setattr(row, name, value)
        row.save()
        return row


# --- connections ----------------------------------------------------------------------------


def connection_view(row: Connection) -> dict[str, Any]:
    """A connection as the API shows it (never its tokens)."""
    return {
        "provider": row.provider,
        "account_id": row.account_id,
        "status": row.status,
        "error": row.error,
        "scopes": row.scopes.split() if row.scopes else [],
        "has_refresh_token": row.refresh_token is not None,
        "expires_at": clock.iso(row.expires_at),
        "created_at": clock.iso(row.created_at),
        "updated_at": clock.iso(row.updated_at),
        "refreshed_at": clock.iso(row.refreshed_at),
    }


def connections(org_id: str, provider: str | None = None) -> list[Connection]:
    """The org's connections (of one provider), by provider and account."""
    query = Connection.select().where(Connection.org == org_id)
    if provider:
        query = query.where(Connection.provider == provider)
    return list(query.order_by(Connection.provider, Connection.account_id))


def get_connection(org_id: str, provider: str, account: str) -> Connection | None:
    """The org's connection of `account` at `provider`, if any."""
    return Connection.get_or_none(
        (Connection.org == org_id)
        & (Connection.provider == provider)
        & (Connection.account_id == account)
    )


def connection_or_404(org_id: str, provider: str, account: str) -> Connection:
    """The connection, or 404 (another org's is not found either)."""
    row = get_connection(org_id, provider, account)
    if row is None:
        raise errors.not_found("OAuth connection", f"{provider}/{account}")
    return row


def delete_connection(org_id: str, provider: str, account: str) -> None:
    """Forget a connection and its tokens; 404 when there is none."""
    with write():
        if (
            not Connection.delete()
            .where(
                (Connection.org == org_id)
                & (Connection.provider == provider)
                & (Connection.account_id == account)
            )
            .execute()
        ):
            raise errors.not_found("OAuth connection", f"{provider}/{account}")


class BrokenConnectionError(Exception):
    """The provider refused the connection's refresh token: the user must connect again."""


def refresh(row: Connection) -> Connection:
    """Run the refresh-token grant for `row`. A refusal marks it `broken` (and raises
    `BrokenConnectionError`); a connection with no refresh token raises it too."""
    provider = provider_or_404(row.provider)
    ctx = _ctx(row.org_id, row.provider, row.account_id)
    if row.refresh_token is None:
        raise BrokenConnectionError(f"{row.provider} gave no refresh token for {row.account_id}")
    app = get_app(row.org_id, row.provider)
    if app is None:
        raise BrokenConnectionError(f"the {row.provider} app credentials were removed")
    refresh_token = vault.decrypt(row.refresh_token, ctx + ":refresh")
    try:
        token = dict(_client(app, provider).refresh_token(provider.token_url, refresh_token))
    except OAuthError as exc:
        current = Connection.get_or_none(Connection.id == row.id)
        if (
            current is not None
            and current.status == "active"
            and current.updated_at > row.updated_at
        ):
            return current  # refreshed concurrently (a rotated refresh token): use that one
        reason = f"{provider.name} refused the refresh token: {exc.error}" + (
            f" ({exc.description})" if exc.description else ""
        )
        with write():
            Connection.update(status="broken", error=reason, updated_at=clock.now()).where(
                Connection.id == row.id
            ).execute()
        raise BrokenConnectionError(reason) from None
    except (requests.RequestException, ValueError) as exc:
        raise errors.ApiError(
            502, "bad_gateway", f"the {provider.name} token endpoint failed: {exc}"
        ) from None
    if not isinstance(token.get("access_token"), str):
        raise BrokenConnectionError(f"{provider.name} sent no access token on refresh")
    saved = _save(row.org_id, row.provider, row.account_id, token)
    with write():
        saved.refreshed_at = clock.now()
        saved.save()
    return saved


def access_token(row: Connection) -> str:
    """A live access token of `row`, refreshed first when it expires within a minute."""
    if row.status == "broken":
        raise BrokenConnectionError(row.error or f"the {row.provider} connection is broken")
    expires = row.expires_at
    if expires is not None and expires - REFRESH_MARGIN <= clock.now():
        row = refresh(row)
    return vault.decrypt(
        row.access_token, _ctx(row.org_id, row.provider, row.account_id) + ":access"
    )
