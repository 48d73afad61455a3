"""Built-in OAuth tools: `gmail_send`, `slack_post_message`, `outlook_send`.

Each is usable as a workflow step type (`{"type": "gmail_send", "properties": {...}}`) and as
an agent tool (`{"type": "action", "name": "gmail_send"}`), with `__oauth_account__` naming
the connected account (optional when the org has exactly one connection of that provider).
The tool calls the provider's real API with the connection's access token, refreshed first
when it is about to expire.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import requests

from agentyard.core import errors
from agentyard.core.store import connection
from agentyard.hyphen import oauth, oauth_providers

ACCOUNT = "__oauth_account__"


class ToolError(Exception):
    """The tool could not run (bad input, no connection, the provider refused)."""


@dataclass(frozen=True)
class Tool:
    """A built-in OAuth tool: its provider, description, input schema and request builder."""

    name: str
    provider: str
    description: str
    input_schema: dict[str, Any]
    build: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]


def _text(args: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = args.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise ToolError(f"{name} must be a non-empty string")
    return value


def _recipients(args: dict[str, Any], name: str, *, required: bool = True) -> list[str]:
    value = args.get(name)
    if value is None and not required:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) and i for i in items):
        raise ToolError(f"{name} must be an email address or an array of them")
    return items


def _gmail(args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    msg = EmailMessage()
    msg["To"] = ", ".join(_recipients(args, "to"))
    cc = _recipients(args, "cc", required=False)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = _text(args, "subject")
    msg.set_content(_text(args, "body"))
    raw = base64.urlsafe_b64encode(msg.as_bytes()).decode().rstrip("=")
    return "/gmail/v1/users/me/messages/send", {"raw": raw}


def _slack(args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "/chat.postMessage", {"channel": _text(args, "channel"), "text": _text(args, "text")}


def _outlook(args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    def people(name: str, required: bool) -> list[dict[str, Any]]:
        return [
            {"emailAddress": {"address": a}} for a in _recipients(args, name, required=required)
        ]

    message: dict[str, Any] = {
        "subject": _text(args, "subject"),
        "body": {"contentType": "Text", "content": _text(args, "body")},
        "toRecipients": people("to", True),
    }
    cc = people("cc", False)
    if cc:
        message["ccRecipients"] = cc
    return "/me/sendMail", {"message": message, "saveToSentItems": True}


def _schema(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    account = {"type": "string", "description": "The connected account (optional if only one)."}
    return {
        "type": "object",
        "properties": {ACCOUNT: account, **props},
        "required": required,
    }


_ADDRESSES = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}

TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool(
            "gmail_send",
            "google",
            "Send an email from the connected Gmail account.",
            _schema(
                {
                    "to": _ADDRESSES,
                    "cc": _ADDRESSES,
                    "subject": {"type": "string"},
                    "body": {"type": "string"},
                },
                ["to", "subject", "body"],
            ),
            _gmail,
        ),
        Tool(
            "slack_post_message",
            "slack",
            "Post a message to a Slack channel of the connected workspace.",
            _schema(
                {"channel": {"type": "string"}, "text": {"type": "string"}}, ["channel", "text"]
            ),
            _slack,
        ),
        Tool(
            "outlook_send",
            "microsoft",
            "Send an email from the connected Outlook (Microsoft 365) account.",
            _schema(
                {
                    "to": _ADDRESSES,
                    "cc": _ADDRESSES,
                    "subject": {"type": "string"},
                    "body": {"type": "string"},
                },
                ["to", "subject", "body"],
            ),
            _outlook,
        ),
    )
}


def _connection(org_id: str, tool: Tool, account: Any) -> oauth.Connection:
    if account is not None and (not isinstance(account, str) or not account):
        raise ToolError(f"{ACCOUNT} must be a non-empty string")
    if account:
        row = oauth.get_connection(org_id, tool.provider, account)
        if row is None:
            raise ToolError(f"no {tool.provider} connection for the account {account!r}")
        return row
    rows = oauth.connections(org_id, tool.provider)
    if len(rows) != 1:
        raise ToolError(
            f"name the {tool.provider} account with {ACCOUNT} "
            f"(the org has {len(rows)} {tool.provider} connections)"
        )
    return rows[0]


def run(org_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run the tool `name` for the org with `args`; the provider's JSON answer (or `{}`)."""
    tool = TOOLS[name]
    path, body = tool.build(args)
    provider = oauth_providers.get(tool.provider)
    assert provider is not None
    with connection():
        row = _connection(org_id, tool, args.get(ACCOUNT))
        try:
            token = oauth.access_token(row)
        except oauth.BrokenConnectionError as exc:
            raise ToolError(str(exc)) from None
        except errors.ApiError as exc:
            raise ToolError(exc.message) from None
    try:
        r = requests.post(
            provider.api_base_url + path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=oauth.HTTP_TIMEOUT,
        )
    except requests.RequestException as exc:
        raise ToolError(f"the {tool.provider} API could not be reached: {exc}") from None
    try:
        answer = r.json() if r.content else {}
    except ValueError:
        answer = {"text": r.text[:2000]}
    if not r.ok:
        raise ToolError(f"the {tool.provider} API answered {r.status_code}: {str(answer)[:500]}")
    if isinstance(answer, dict) and answer.get("ok") is False:  # Slack's 200 with an error
        raise ToolError(f"the {tool.provider} API refused: {answer.get('error')}")
    return answer if isinstance(answer, dict) else {"result": answer}


def listing() -> list[dict[str, Any]]:
    """The tools as `GET /builtin-actions` lists them."""
    return [
        {
            "name": t.name,
            "kind": "oauth_tool",
            "description": t.description,
            "input_schema": t.input_schema,
            "oauth_provider": t.provider,
        }
        for t in TOOLS.values()
    ]
