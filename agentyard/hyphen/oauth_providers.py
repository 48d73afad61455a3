"""The OAuth provider catalogue: Google (Gmail), Slack and Microsoft (Outlook).

Each provider has its authorize, token, userinfo and API base URLs and default scopes. The
setting `AGENTYARD_HYPHEN_OAUTH_BASE_URL` (or `use_base_url()` in-process) roots every URL of
every provider at one place instead: `<base>/<provider>/authorize`, `/token`, `/userinfo` and
`/api`, which is how tests (and air-gapped installs with a provider proxy) point them at a
local server.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from agentyard.config import Settings


@dataclass(frozen=True)
class Provider:
    """One OAuth 2 provider: its endpoints, default scopes and how an account is named."""

    name: str
    title: str
    authorize_url: str
    token_url: str
    userinfo_url: str
    api_base_url: str
    scopes: tuple[str, ...]
    account_fields: tuple[str, ...]
    authorize_params: dict[str, str] = field(default_factory=dict)
    tools: tuple[str, ...] = ()

    def view(self) -> dict[str, Any]:
        """The provider as `GET /oauth/providers` shows it."""
        return {
            "provider": self.name,
            "name": self.title,
            "authorize_url": self.authorize_url,
            "token_url": self.token_url,
            "api_base_url": self.api_base_url,
            "scopes": list(self.scopes),
            "tools": list(self.tools),
        }


CATALOGUE: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider(
            name="google",
            title="Google (Gmail)",
            authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
            token_url="https://oauth2.googleapis.com/token",
            userinfo_url="https://openidconnect.googleapis.com/v1/userinfo",
            api_base_url="https://gmail.googleapis.com",
            scopes=("openid", "email", "https://www.googleapis.com/auth/gmail.send"),
            account_fields=("email", "sub"),
            authorize_params={"access_type": "offline", "prompt": "consent"},
            tools=("gmail_send",),
        ),
        Provider(
            name="slack",
            title="Slack",
            authorize_url="https://slack.com/oauth/v2/authorize",
            token_url="https://slack.com/api/oauth.v2.access",
            userinfo_url="https://slack.com/api/auth.test",
            api_base_url="https://slack.com/api",
            scopes=("chat:write",),
            account_fields=("team_id", "user_id"),
            tools=("slack_post_message",),
        ),
        Provider(
            name="microsoft",
            title="Microsoft (Outlook)",
            authorize_url="https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
            token_url="https://login.microsoftonline.com/common/oauth2/v2.0/token",
            userinfo_url="https://graph.microsoft.com/v1.0/me",
            api_base_url="https://graph.microsoft.com/v1.0",
            scopes=("offline_access", "User.Read", "Mail.Send"),
            account_fields=("mail", "userPrincipalName", "id"),
            tools=("outlook_send",),
        ),
    )
}

_base_url: str | None = None


def use_base_url(url: str | None) -> None:
    """Root every provider's URLs at `url` in this process (None: back to the setting)."""
    global _base_url
    _base_url = url.rstrip("/") if url else None


def base_url() -> str | None:
    """The override of every provider's URLs, if any."""
    return _base_url or Settings.from_env().hyphen_oauth_base_url


def get(name: str) -> Provider | None:
    """The provider `name` with any configured override applied; None when unknown."""
    provider = CATALOGUE.get(name)
    base = base_url()
    if provider is None or not base:
        return provider
    root = f"{base.rstrip('/')}/{provider.name}"
    return replace(
        provider,
        authorize_url=f"{root}/authorize",
        token_url=f"{root}/token",
        userinfo_url=f"{root}/userinfo",
        api_base_url=f"{root}/api",
    )


def listing() -> list[Provider]:
    """Every provider, overrides applied, by name."""
    return [p for p in (get(name) for name in sorted(CATALOGUE)) if p is not None]
