# ruff: noqa: F811 - the fixtures come from tests.hyphen.engine_kit
"""OAuth connections and the built-in OAuth tools, over HTTP, against a local fake provider
(authorize -> callback -> tool call -> refresh), on every backend."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from agentyard.core.store import connection
from agentyard.hyphen import oauth, oauth_providers, oauth_tools
from tests.hyphen.conftest import error, org_id
from tests.hyphen.engine_kit import (  # noqa: F401 - fixtures
    Scripted,
    act,
    consumer,
    model,
    queue_name,
)
from tests.kit.tenants import Key


class FakeProvider:
    """A provider at `<url>/<name>/...`: issues codes (checking PKCE), tokens, refreshes,
    userinfo, and the three tool APIs (checking the bearer token)."""

    def __init__(self) -> None:
        self.codes: dict[str, dict[str, str]] = {}
        self.access: dict[str, str] = {}  # live access token -> provider
        self.refresh: dict[str, str] = {}  # live refresh token -> provider
        self.expires_in = 3600
        self.calls: list[dict[str, Any]] = []
        self.token_requests: list[dict[str, list[str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                provider, _, rest = parts.path.strip("/").partition("/")
                if rest == "userinfo":
                    token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    if fake.access.get(token) != provider:
                        return self._reply(401, {"error": "invalid_token"})
                    info = {
                        "google": {"email": "ann@example.com", "sub": "1"},
                        "slack": {"ok": True, "team_id": "T123", "user_id": "U1"},
                        "microsoft": {"mail": "bob@example.com", "id": "x"},
                    }[provider]
                    return self._reply(200, info)
                self._reply(404, {"error": "not found"})

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                provider, _, rest = parts.path.strip("/").partition("/")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if rest == "token":
                    form = parse_qs(body.decode())
                    fake.token_requests.append(form)
                    return self._token(provider, form)
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if fake.access.get(token) != provider:
                    return self._reply(401, {"error": "invalid_token"})
                fake.calls.append({"provider": provider, "path": rest, "json": json.loads(body)})
                self._reply(200, {"ok": True, "id": f"msg-{len(fake.calls)}"})

            def _token(self, provider: str, form: dict[str, list[str]]) -> None:
                one = {k: v[0] for k, v in form.items()}
                if one.get("client_id") != "cid" or one.get("client_secret") != "csecret":
                    return self._reply(401, {"error": "invalid_client"})
                if one.get("grant_type") == "authorization_code":
                    issued = fake.codes.pop(one.get("code", ""), None)
                    if issued is None or issued["provider"] != provider:
                        return self._reply(400, {"error": "invalid_grant"})
                    import hashlib

                    challenge = (
                        base64.urlsafe_b64encode(
                            hashlib.sha256(one.get("code_verifier", "").encode()).digest()
                        )
                        .decode()
                        .rstrip("=")
                    )
                    if challenge != issued["challenge"]:
                        return self._reply(
                            400, {"error": "invalid_grant", "error_description": "pkce"}
                        )
                elif one.get("grant_type") == "refresh_token":
                    if fake.refresh.pop(one.get("refresh_token", ""), None) != provider:
                        return self._reply(
                            400,
                            {
                                "error": "invalid_grant",
                                "error_description": "Token has been revoked.",
                            },
                        )
                else:
                    return self._reply(400, {"error": "unsupported_grant_type"})
                access, refresh = secrets.token_hex(8), secrets.token_hex(8)
                fake.access[access] = provider
                fake.refresh[refresh] = provider
                self._reply(
                    200,
                    {
                        "access_token": access,
                        "refresh_token": refresh,
                        "token_type": "Bearer",
                        "expires_in": fake.expires_in,
                        "scope": "a b",
                    },
                )

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def consent(self, authorize_url: str) -> dict[str, str]:
        """What the provider does when the user consents: a code, and the callback query."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        provider = urlsplit(authorize_url).path.strip("/").split("/")[0]
        assert query["code_challenge_method"] == "S256"
        assert query["client_id"] == "cid" and query["response_type"] == "code"
        code = secrets.token_hex(8)
        self.codes[code] = {"provider": provider, "challenge": query["code_challenge"]}
        return {"code": code, "state": query["state"], "redirect_uri": query["redirect_uri"]}


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    f = FakeProvider()
    oauth_providers.use_base_url(f.url)
    try:
        yield f
    finally:
        oauth_providers.use_base_url(None)
        f.httpd.shutdown()


def connect(http: httpx.Client, fake: FakeProvider, provider: str) -> dict[str, Any]:
    r = http.post(
        f"/oauth/{provider}/app-credentials", json={"client_id": "cid", "client_secret": "csecret"}
    )
    assert r.status_code in (200, 201), r.text
    r = http.get(f"/oauth/{provider}/authorize")
    assert r.status_code == 302, r.text
    back = fake.consent(r.headers["location"])
    assert back["redirect_uri"].endswith(f"/hyphen/oauth/{provider}/callback")
    with httpx.Client(timeout=30) as browser:  # no API key: the state is the credential
        r = browser.get(back["redirect_uri"], params={"code": back["code"], "state": back["state"]})
    assert r.status_code == 200, r.text
    return r.json() | {"_state": back["state"], "_callback": back["redirect_uri"]}


def test_providers_and_app_credentials(http: httpx.Client, other: httpx.Client, fake) -> None:
    r = http.get("/oauth/providers")
    assert r.status_code == 200
    by = {p["provider"]: p for p in r.json()["providers"]}
    assert set(by) == {"google", "slack", "microsoft"}
    assert by["google"]["token_url"] == f"{fake.url}/google/token"
    assert "gmail_send" in by["google"]["tools"]
    error(http.get("/oauth/slack/app-credentials"), 404)
    secret = "s" * 20 + "WXYZ"
    r = http.post("/oauth/slack/app-credentials", json={"client_id": "c1", "client_secret": secret})
    assert r.status_code == 201 and r.json()["client_secret"] == "****WXYZ"
    r = http.post("/oauth/slack/app-credentials", json={"client_id": "c2", "client_secret": "x"})
    assert r.status_code == 200
    got = http.get("/oauth/slack/app-credentials").json()
    assert got["client_id"] == "c2" and got["client_secret"] == "****" and secret not in str(got)
    error(other.get("/oauth/slack/app-credentials"), 404)
    error(http.get("/oauth/nope/app-credentials"), 400)
    # authorize without credentials of the other org's provider
    error(other.get("/oauth/slack/authorize"), 400)


def test_round_trip_authorize_callback_tool_refresh(
    server: str, http: httpx.Client, org: Key, other: httpx.Client, fake, consumer
) -> None:
    conn = connect(http, fake, "google")
    assert conn["provider"] == "google" and conn["account_id"] == "ann@example.com"
    assert conn["status"] == "active" and conn["has_refresh_token"]
    # tokens are encrypted at rest
    with connection():
        row = oauth.get_connection(org_id(org), "google", "ann@example.com")
        assert row is not None
        assert row.access_token not in fake.access and row.refresh_token not in fake.refresh
    # the state works once
    with httpx.Client(timeout=30) as browser:
        body = error(
            browser.get(conn["_callback"], params={"code": "x", "state": conn["_state"]}), 400
        )
        assert "already used" in body["message"]
        body = error(browser.get(conn["_callback"], params={"code": "x", "state": "a.b"}), 400)
        error(browser.get(conn["_callback"], params={"error": "access_denied"}), 400)
    # listed for the org, invisible to another
    assert [c["account_id"] for c in http.get("/oauth/connections").json()["connections"]] == [
        "ann@example.com"
    ]
    assert other.get("/oauth/connections").json()["connections"] == []
    error(other.get("/oauth/connections/google/ann@example.com"), 404)
    error(other.post("/oauth/connections/google/ann@example.com/refresh"), 404)

    # the tool as a workflow step, with the stored token
    definition = {
        "actions": [
            {
                "type": "gmail_send",
                "properties": {
                    "__oauth_account__": "ann@example.com",
                    "to": "@input.to",
                    "subject": "Hello",
                    "body": "Hi there",
                },
                "outputKey": "sent",
            }
        ]
    }
    r = http.post("/workflows", json={"name": "mail", "definition": definition})
    assert r.status_code in (200, 201), r.text
    wf = r.json()["id"]
    run = run_workflow(http, wf, {"to": "carl@example.com"})
    assert run["status"] == "completed", run
    call = fake.calls[-1]
    assert call["provider"] == "google" and call["path"] == "api/gmail/v1/users/me/messages/send"
    raw = call["json"]["raw"]
    msg = message_from_bytes(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    assert msg["To"] == "carl@example.com" and msg["Subject"] == "Hello"
    assert msg.get_payload().strip() == "Hi there"

    # an expiring token refreshes itself before the tool uses it
    with connection():
        row = oauth.get_connection(org_id(org), "google", "ann@example.com")
        old_token = oauth.access_token(row)
        oauth.Connection.update(expires_at=row.expires_at.replace(year=2000)).where(
            oauth.Connection.id == row.id
        ).execute()
    refreshes = len(fake.token_requests)
    assert run_workflow(http, wf, {"to": "dee@example.com"})["status"] == "completed"
    assert len(fake.token_requests) == refreshes + 1
    assert fake.token_requests[-1]["grant_type"] == ["refresh_token"]
    assert old_token not in fake.calls[-1].get("json", {})
    got = http.get("/oauth/connections/google/ann@example.com").json()
    assert got["refreshed_at"] is not None and got["status"] == "active"

    # explicit refresh, then a revoked refresh token breaks the connection
    with connection():
        stale = oauth.get_connection(org_id(org), "google", "ann@example.com")
    time.sleep(0.01)  # updated_at has millisecond resolution
    r = http.post("/oauth/connections/google/ann@example.com/refresh")
    assert r.status_code == 200, r.text
    with connection():  # a refresh that lost a race with another keeps the connection
        assert oauth.refresh(stale).status == "active"
    fake.refresh.clear()
    body = error(http.post("/oauth/connections/google/ann@example.com/refresh"), 400)
    assert "invalid_grant" in body["message"] and "revoked" in body["message"]
    got = http.get("/oauth/connections/google/ann@example.com").json()
    assert got["status"] == "broken" and "revoked" in got["error"]
    run = run_workflow(http, wf, {"to": "eve@example.com"})
    assert run["status"] == "failed"

    # delete
    r = http.delete("/oauth/connections/google/ann@example.com")
    assert r.status_code == 200 and r.json()["deleted"] is True
    error(http.get("/oauth/connections/google/ann@example.com"), 404)
    error(http.delete("/oauth/connections/google/ann@example.com"), 404)


def test_state_for_another_provider_is_refused(http: httpx.Client, fake) -> None:
    http.post("/oauth/slack/app-credentials", json={"client_id": "cid", "client_secret": "csecret"})
    r = http.get("/oauth/slack/authorize", params={"format": "json"})
    assert r.status_code == 200 and r.json()["expires_in"] > 0
    back = fake.consent(r.json()["authorization_url"])
    wrong = back["redirect_uri"].replace("/slack/", "/microsoft/")
    with httpx.Client(timeout=30) as browser:
        body = error(browser.get(wrong, params={"code": back["code"], "state": back["state"]}), 400)
        assert "microsoft" in body["message"]
        # the refusal consumed nothing: the right callback still works
        r = browser.get(back["redirect_uri"], params={"code": back["code"], "state": back["state"]})
    assert r.status_code == 200 and r.json()["account_id"] == "T123"


def test_builtin_listing_and_agent_tool(http: httpx.Client, org: Key, fake) -> None:
    names = {a["name"]: a for a in http.get("/builtin-actions").json()["actions"]}
    for tool, provider in (
        ("gmail_send", "google"),
        ("slack_post_message", "slack"),
        ("outlook_send", "microsoft"),
    ):
        assert names[tool]["oauth_provider"] == provider
        assert "__oauth_account__" in names[tool]["input_schema"]["properties"]
    connect(http, fake, "slack")
    connect(http, fake, "microsoft")
    # the Slack and Outlook request shapes, straight through the tool runner
    tenant = org_id(org)
    out = oauth_tools.run(tenant, "slack_post_message", {"channel": "#ops", "text": "hi"})
    assert out["ok"] is True
    assert fake.calls[-1] == {
        "provider": "slack",
        "path": "api/chat.postMessage",
        "json": {"channel": "#ops", "text": "hi"},
    }
    oauth_tools.run(
        tenant,
        "outlook_send",
        {
            "__oauth_account__": "bob@example.com",
            "to": ["x@example.com"],
            "subject": "S",
            "body": "B",
        },
    )
    sent = fake.calls[-1]
    assert sent["path"] == "api/me/sendMail"
    assert sent["json"]["message"]["toRecipients"] == [
        {"emailAddress": {"address": "x@example.com"}}
    ]
    with pytest.raises(oauth_tools.ToolError, match="no microsoft connection"):
        oauth_tools.run(
            tenant,
            "outlook_send",
            {"__oauth_account__": "zed@example.com", "to": "a", "subject": "s", "body": "b"},
        )


def test_agent_calls_an_oauth_tool(http: httpx.Client, fake, consumer, model) -> None:
    connect(http, fake, "slack")
    scripted = Scripted(
        [
            act("slack_post_message", __oauth_account__="T123", channel="#ops", text="done"),
            act("slack_post_message", channel="#ops", text=""),  # refused: empty text
            act("__complete__", answer="posted"),
        ]
    )
    model.append(scripted)
    r = http.post(
        "/agents/execute",
        json={"objective": "post", "tools": [{"type": "action", "name": "slack_post_message"}]},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "completed", out
    assert fake.calls == [
        {
            "provider": "slack",
            "path": "api/chat.postMessage",
            "json": {"channel": "#ops", "text": "done"},
        }
    ]
    assert out["trace"][0]["success"] is True
    assert "text must be a non-empty string" in out["trace"][1]["observation"]
    offered = json.dumps(scripted.requests[0])  # the tool list the model was given
    assert "slack_post_message" in offered


def run_workflow(http: httpx.Client, wf: str, data: dict[str, Any]) -> dict[str, Any]:
    r = http.post(f"/workflows/{wf}/execute", json={"input": data})
    assert r.status_code in (200, 201, 202), r.text
    run_id = r.json().get("run_id") or r.json().get("id")
    deadline = time.monotonic() + 30
    while True:
        status = http.get(f"/runs/{run_id}/status").json()
        if status["status"] not in ("running", "pending", "queued") or time.monotonic() > deadline:
            return status
        time.sleep(0.1)
