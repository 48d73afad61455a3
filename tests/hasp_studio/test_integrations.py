"""Integrations over HTTP: CRUD with validated configs, secrets in the vault and never
returned, roles and tenancy, and `POST /integrations/{id}/test` really connecting to local
fakes (an HTTP API, a Slack-style webhook, an SMTP server) and the CI PostgreSQL, through
the SSRF guard."""

from __future__ import annotations

import http.server
import json
import os
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg2
import pytest

from agentyard.core.store import connection, db
from tests.hasp_studio.conftest import Client, Studio
from tests.kit import smtp as fake_smtp

SECRET = "Bearer sk-live-0123456789abcd"


class _Api(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.seen.append((self.path, dict(self.headers)))  # type: ignore[attr-defined]
        ok = self.headers.get("X-Api-Key") == SECRET
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.seen.append((self.path, json.loads(self.rfile.read(length))))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def api() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    server.seen = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp() -> Iterator[fake_smtp.FakeSmtp]:
    with fake_smtp.serving(accept=(b"ann", b"s3cret")) as server:
        yield server


def _path(client: Client, rest: str = "") -> str:
    return f"/orgs/{client.account.org_id}/integrations{rest}"


def _create(client: Client, **body) -> dict:
    r = client.post(_path(client), json=body)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def _test(client: Client, integration_id: str) -> dict:
    r = client.post(f"/integrations/{integration_id}/test")
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_http_integration_crud_secret_masked_and_tested(owner: Client, api) -> None:
    port = api.server_address[1]
    made = _create(
        owner, name="EHR API", kind="http", secret=SECRET,
        config={"base_url": f"http://127.0.0.1:{port}/", "auth_header": "X-Api-Key",
                "test_path": "/health"},
    )  # fmt: skip
    assert made["has_secret"] is True and made["secret_hint"] == "…abcd"
    assert made["config"] == {
        "base_url": f"http://127.0.0.1:{port}", "auth_header": "X-Api-Key", "test_path": "/health"
    }  # fmt: skip
    assert SECRET not in json.dumps(owner.get(_path(owner)).json())
    # The secret is a vault ciphertext in the table.
    with connection():  # the raw column, not through the decrypting field
        sql = f"SELECT secret FROM hasp_studio_integration WHERE id = {db.obj.param}"
        raw = db.obj.execute_sql(sql, (made["id"],)).fetchone()[0]
    assert raw.startswith("v1:") and "sk-live" not in raw

    result = _test(owner, made["id"])
    assert result["ok"] is True and result["latency_ms"] >= 0 and result["error"] is None
    assert api.seen[-1][0] == "/health" and api.seen[-1][1]["X-Api-Key"] == SECRET
    got = owner.get(_path(owner, f"/{made['id']}")).json()["data"]
    assert got["last_test"]["ok"] is True

    # A wrong secret: the API answers 401, the test reports it (200 either way).
    r = owner.patch(
        _path(owner, f"/{made['id']}"), json={"secret": "wrong-secret-xyz", "name": "EHR"}
    )
    assert r.status_code == 200 and r.json()["data"]["name"] == "EHR"
    failed = _test(owner, made["id"])
    assert failed == {"ok": False, "latency_ms": None, "error": failed["error"]}
    assert "401" in failed["error"]

    deleted = owner.delete(_path(owner, f"/{made['id']}"))
    assert deleted.status_code == 200 and deleted.json()["data"]["id"] == made["id"]
    assert owner.get(_path(owner, f"/{made['id']}")).status_code == 404


def test_slack_webhook_posts_a_test_message(owner: Client, api) -> None:
    url = f"http://127.0.0.1:{api.server_address[1]}/services/T000/B000/XXXXXXXX"
    made = _create(owner, name="team", kind="slack_webhook", config={"channel": "#ops"}, secret=url)
    assert made["config"] == {"channel": "#ops"} and url not in json.dumps(made)
    assert _test(owner, made["id"])["ok"] is True
    path, body = api.seen[-1]
    assert path == urlsplit(url).path and "team" in body["text"]
    missing = owner.post(_path(owner), json={"name": "x", "kind": "slack_webhook", "config": {}})
    assert missing.status_code == 422


def test_smtp_login_and_noop(owner: Client, smtp) -> None:
    port = smtp.server_address[1]
    config = {"host": "127.0.0.1", "port": port, "username": "ann", "tls": "none"}
    good = _create(owner, name="mail", kind="smtp", config=config, secret="s3cret")
    assert _test(owner, good["id"])["ok"] is True
    assert {"EHLO", "AUTH", "NOOP", "QUIT"} <= set(smtp.verbs)
    bad = _create(owner, name="mail2", kind="smtp", config=config, secret="nope")
    result = _test(owner, bad["id"])
    assert result["ok"] is False and "authentication failed" in result["error"]


def _pg_url() -> str:
    return os.environ.get(
        "AGENTYARD_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )


def test_postgresql_select_one(owner: Client) -> None:
    url = urlsplit(_pg_url())
    try:
        psycopg2.connect(_pg_url(), connect_timeout=3).close()
    except psycopg2.Error:
        pytest.skip("no PostgreSQL to test against")
    config = {
        "host": url.hostname, "port": url.port or 5432, "database": url.path.lstrip("/"),
        "user": url.username or "postgres", "sslmode": "disable",
    }  # fmt: skip
    made = _create(owner, name="warehouse", kind="postgresql", config=config,
                   secret=url.password or "unused-password")  # fmt: skip
    assert _test(owner, made["id"])["ok"] is True
    other = _create(owner, name="missing", kind="postgresql",
                    config={**config, "database": "no_such_database_x"})  # fmt: skip
    result = _test(owner, other["id"])
    assert result["ok"] is False and result["error"].startswith("postgresql:")


def test_private_addresses_are_refused_unless_allowed(owner: Client) -> None:
    made = _create(owner, name="lan", kind="http", config={"base_url": "http://10.1.2.3:8080"})
    result = _test(owner, made["id"])
    assert result["ok"] is False and "SSRF" in result["error"]
    pg = _create(owner, name="lan-db", kind="postgresql",
                 config={"host": "192.168.7.7", "database": "x", "user": "y"})  # fmt: skip
    assert "SSRF" in _test(owner, pg["id"])["error"]
    meta = _create(owner, name="metadata", kind="http",
                   config={"base_url": "http://169.254.169.254"})  # fmt: skip
    assert _test(owner, meta["id"])["ok"] is False


def test_validation(owner: Client) -> None:
    cases = [
        {"name": "a", "kind": "http", "config": {}},
        {"name": "a", "kind": "http", "config": {"base_url": "ftp://x.example"}},
        {"name": "a", "kind": "http", "config": {"base_url": "https://x.example", "nope": 1}},
        {"name": "a", "kind": "postgresql", "config": {"host": "db.example", "port": 70000,
                                                        "database": "d", "user": "u"}},
        {"name": "a", "kind": "smtp", "config": {"host": "mail.example", "tls": "maybe"}},
        {"name": "a", "kind": "ftp", "config": {}},
    ]  # fmt: skip
    for body in cases:
        r = owner.post(_path(owner), json=body)
        assert r.status_code == 422, (body, r.text)
    assert owner.get(_path(owner)).json()["data"] == []
    _create(owner, name="dup", kind="http", config={"base_url": "https://x.example"})
    again = owner.post(_path(owner), json={"name": "dup", "kind": "http",
                                          "config": {"base_url": "https://y.example"}})  # fmt: skip
    assert again.status_code == 409


def test_roles_and_tenancy(studio: Studio, owner: Client) -> None:
    made = _create(owner, name="api", kind="http", config={"base_url": "https://x.example"})
    viewer = studio.member("viewer", owner.account.org)
    assert viewer.get(_path(owner)).status_code == 200
    assert viewer.get(_path(owner, f"/{made['id']}")).status_code == 200
    assert viewer.post(_path(owner), json={"name": "b", "kind": "http",
                                           "config": {"base_url": "https://x.example"}}
                       ).status_code == 403  # fmt: skip
    assert viewer.post(f"/integrations/{made['id']}/test").status_code == 403
    builder = studio.with_token(studio.member("builder", owner.account.org))
    assert builder.patch(_path(owner, f"/{made['id']}"), json={"name": "c"}).status_code == 403
    assert builder.delete(_path(owner, f"/{made['id']}")).status_code == 403
    stranger = studio.member("owner")
    assert stranger.get(_path(owner)).status_code == 404
    assert stranger.get(_path(stranger, f"/{made['id']}")).status_code == 404
    assert stranger.post(f"/integrations/{made['id']}/test").status_code == 404
    assert stranger.delete(_path(stranger, f"/{made['id']}")).status_code == 404
    assert owner.get(_path(owner, f"/{made['id']}")).status_code == 200
