"""/oauth: the provider catalogue, app credentials, the authorization-code flow and the org's
connections. The callback carries no API key: its signed `state` is the credential."""

from __future__ import annotations

from typing import Any

from connexion import request

from agentyard.core import errors
from agentyard.core.store import connection
from agentyard.hyphen import auth, oauth, oauth_providers
from handlers.hyphen.security import caller


def _callback_url(provider: str) -> str:
    """This server's callback for `provider`, as the caller reached this surface."""
    url = request.url
    path = url.path
    return f"{url.scheme}://{url.netloc}{path[: path.rfind('/oauth/')]}/oauth/{provider}/callback"


def listOAuthProviders() -> dict[str, Any]:
    """OAuth providers."""
    caller()
    return {"providers": [p.view() for p in oauth_providers.listing()]}


def getOAuthAppCredentials(provider: str) -> dict[str, Any]:
    """Get app credentials."""
    row = oauth.get_app(caller().org_id, provider)
    if row is None:
        raise errors.not_found("app credentials for", provider)
    return oauth.app_view(row)


def setOAuthAppCredentials(provider: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Set app credentials."""
    row, created = oauth.set_app(
        caller().org_id, provider, body["client_id"], body["client_secret"], body.get("scopes")
    )
    return oauth.app_view(row), 201 if created else 200


def startOAuthAuthorization(provider: str, format_: str | None = None) -> Any:
    """Start authorization."""
    url = oauth.authorize(caller().org_id, provider, _callback_url(provider))
    if format_ == "json":
        return {"authorization_url": url, "expires_in": oauth.STATE_TTL_SECONDS}
    return None, 302, {"Location": url}


def oauthCallback(
    provider: str,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> dict[str, Any]:
    """Authorization callback (no API key: the state authenticates it)."""
    client = request.client
    auth.rate_limit("oauth-callback", client.host if client else "unknown")
    if error:
        raise errors.invalid(
            f"{provider} did not authorize the connection: {error}"
            + (f" ({error_description})" if error_description else "")
        )
    if not code or not state:
        raise errors.invalid("the callback needs the `code` and `state` the provider sends")
    with connection():
        return oauth.connection_view(oauth.callback(provider, code, state))


def listOAuthConnections(provider: str | None = None) -> dict[str, Any]:
    """List connections."""
    rows = oauth.connections(caller().org_id, provider)
    return {"connections": [oauth.connection_view(r) for r in rows]}


def getOAuthConnection(provider: str, account_id: str) -> dict[str, Any]:
    """Get connection."""
    return oauth.connection_view(oauth.connection_or_404(caller().org_id, provider, account_id))


def deleteOAuthConnection(provider: str, account_id: str) -> dict[str, Any]:
    """Delete connection."""
    oauth.delete_connection(caller().org_id, provider, account_id)
    return {"id": f"{provider}/{account_id}", "deleted": True}


def refreshOAuthConnection(provider: str, account_id: str) -> dict[str, Any]:
    """Refresh connection token."""
    row = oauth.connection_or_404(caller().org_id, provider, account_id)
    try:
        return oauth.connection_view(oauth.refresh(row))
    except oauth.BrokenConnectionError as exc:
        raise errors.invalid(
            f"the connection is broken: {exc}; connect the account again",
            code="connection_broken",
        ) from None
