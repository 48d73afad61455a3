"""The browser SDK's credentials over HTTP: publishable keys and users (management routes),
sessions, configuration, origins, the per-key rate limit and OTP sign-in with the dev outbox."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from agentyard.core import outbox
from agentyard.core.store import connection
from agentyard.hyphen.sdk_models import SdkOtp, SdkSession
from tests.hyphen.conftest import error
from tests.hyphen.gateway_kit import Signup, signup
from tests.hyphen.http_kit import consumer, queue_name  # noqa: F401 - fixtures

ORIGIN = "https://app.example.com"


def accounts(server: str) -> Iterator[Signup]:
    """A fresh gateway account (`manage`: mt-hyp-, `engine`: sk-hyp-, `org_id`), closed after."""
    s = signup(server)
    yield s
    s.manage.close()
    s.engine.close()


@pytest.fixture
def account(server: str) -> Iterator[Signup]:
    yield from accounts(server)


def make_key(acct: Signup, **body) -> dict:
    body = {"label": "web", "allowed_origins": [ORIGIN], **body}
    r = acct.manage.post(f"/gateway/orgs/{acct.org_id}/sdk-keys", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def session(server: str, pk: str, origin: str | None = ORIGIN) -> httpx.Client:
    headers = {"X-Publishable-Key": pk, **({"Origin": origin} if origin else {})}
    r = httpx.post(server + "/hyphen/sdk/auth/session", headers=headers)
    assert r.status_code == 201, r.text
    token = r.json()["session_token"]
    return httpx.Client(
        base_url=server + "/hyphen",
        headers={"Authorization": f"Bearer {token}", **({"Origin": origin} if origin else {})},
        timeout=30,
    )


def code_for(email: str, after: str | None = None) -> str:
    """The code in the newest dev outbox message to `email` (newer than message `after`),
    once a worker has delivered it."""
    deadline = time.monotonic() + 20
    while True:
        with connection():
            rows = outbox.messages(to=email, limit=1)
        if rows and rows[0].id != after:
            break
        assert time.monotonic() < deadline, f"no new message to {email} in the dev outbox"
        time.sleep(0.05)
    found = re.search(r"\b(\d{8})\b", rows[0].text)
    assert found, rows[0].text
    return found.group(1)


def register(acct: Signup, key_id: str, email: str, **extra) -> dict:
    r = acct.manage.post(
        f"/gateway/orgs/{acct.org_id}/sdk-keys/{key_id}/users", json={"email": email, **extra}
    )
    assert r.status_code == 201, r.text
    return r.json()


def sign_in(acct: Signup, client: httpx.Client, key_id: str, email: str) -> dict:
    register(acct, key_id, email)
    assert client.post("/sdk/auth/otp/request", json={"email": email}).status_code == 202
    r = client.post("/sdk/auth/otp/verify", json={"email": email, "code": code_for(email)})
    assert r.status_code == 200, r.text
    return r.json()


def test_keys_are_minted_listed_and_revoked_by_the_management_token(server, account):
    key = make_key(
        account,
        allowed_origins=["HTTPS://App.Example.com/"],
        allowed_workflows=["invoices"],
        allowed_tables=["orders"],
    )
    assert key["key"].startswith("pk_live_") and len(key["key"]) == 40
    assert key["allowed_origins"] == [ORIGIN]
    assert (key["allowed_workflows"], key["allowed_tables"], key["allowed_actions"]) == (
        ["invoices"],
        ["orders"],
        [],
    )
    assert key["rate_limit_per_minute"] == 60
    listed = account.manage.get(f"/gateway/orgs/{account.org_id}/sdk-keys").json()
    assert [k["id"] for k in listed["keys"]] == [key["id"]] and "key" not in listed["keys"][0]
    # the org's engine key list is not polluted, and an org key is no management token
    org_keys = account.manage.get(f"/gateway/orgs/{account.org_id}/keys").json()["keys"]
    assert key["id"] not in [k["id"] for k in org_keys]
    assert account.engine.get(f"/gateway/orgs/{account.org_id}/sdk-keys").status_code == 401
    # a publishable key opens no engine route and no other /sdk route
    pk = httpx.Client(
        base_url=server + "/hyphen", headers={"Authorization": f"Bearer {key['key']}"}
    )
    assert pk.get("/workflows").status_code == 401
    assert pk.get("/sdk/config").status_code == 401
    # another account sees none of it
    stranger = signup(server)
    assert stranger.manage.get(f"/gateway/orgs/{account.org_id}/sdk-keys").status_code == 404
    r = stranger.manage.delete(f"/gateway/orgs/{account.org_id}/sdk-keys/{key['id']}")
    assert r.status_code == 404
    # bad scopes are a 400 and mint nothing
    bad = account.manage.post(
        f"/gateway/orgs/{account.org_id}/sdk-keys", json={"allowed_origins": ["ftp://x.org"]}
    )
    error(bad, 400)
    for body in ({"rate_limit_per_minute": 0}, {"allowed_tables": [" "]}):
        error(account.manage.post(f"/gateway/orgs/{account.org_id}/sdk-keys", json=body), 400)
    assert len(account.manage.get(f"/gateway/orgs/{account.org_id}/sdk-keys").json()["keys"]) == 1
    # revoking ends the key and its sessions
    client = session(server, key["key"])
    assert client.get("/sdk/config").status_code == 200
    r = account.manage.delete(f"/gateway/orgs/{account.org_id}/sdk-keys/{key['id']}")
    assert r.status_code == 200 and r.json()["revoked"] is True
    assert error(client.get("/sdk/config"), 401)["details"]["code"] == "session_revoked"
    r = httpx.post(server + "/hyphen/sdk/auth/session", headers={"X-Publishable-Key": key["key"]})
    error(r, 401)
    r = account.manage.delete(f"/gateway/orgs/{account.org_id}/sdk-keys/{key['id']}")
    error(r, 404)


def test_session_config_origin_and_expiry(server, account):
    key = make_key(account, allowed_workflows=["*"], allowed_actions=["send"])
    client = session(server, key["key"])
    config = client.get("/sdk/config").json()
    assert config["org"] == {"id": account.org_id, "name": "default"}
    assert config["key_id"] == key["id"] and config["allowed_workflows"] == ["*"]
    assert config["allowed_actions"] == ["send"] and config["rate_limit_per_minute"] == 60
    assert config["session"]["authenticated"] is False and config["session"]["user"] is None
    # a server-side caller (no Origin) may start a session; a refused origin may not
    assert session(server, key["key"], origin=None).get("/sdk/config").status_code == 200
    r = httpx.post(
        server + "/hyphen/sdk/auth/session",
        headers={"X-Publishable-Key": key["key"], "Origin": "https://evil.example"},
    )
    error(r, 403)
    evil = client.get("/sdk/config", headers={"Origin": "https://evil.example"})
    error(evil, 403)
    # unknown and malformed tokens, then an expired session
    anon = httpx.Client(base_url=server + "/hyphen")
    r = anon.get("/sdk/config", headers={"Authorization": "Bearer sdk_sess_" + "0" * 48})
    assert error(r, 401)["details"]["code"] == "session_invalid"
    error(anon.get("/sdk/config", headers={"Authorization": "Bearer nope"}), 401)
    error(anon.get("/sdk/config"), 401)
    with connection():
        SdkSession.update(expires_at=dt.datetime(2020, 1, 1)).where(
            SdkSession.id == config["session"]["session_id"]
        ).execute()
    assert error(client.get("/sdk/config"), 401)["details"]["code"] == "session_expired"


def test_the_key_rate_limit_counts_every_sdk_request(server, account):
    key = make_key(account, rate_limit_per_minute=3)
    client = session(server, key["key"])  # 1
    assert client.get("/sdk/config").status_code == 200  # 2
    assert client.get("/sdk/tasks").status_code == 200  # 3
    r = client.get("/sdk/config")
    error(r, 429)
    assert int(r.headers["Retry-After"]) >= 1
    r = httpx.post(server + "/hyphen/sdk/auth/session", headers={"X-Publishable-Key": key["key"]})
    error(r, 429)
    # another key of the same org has its own budget
    assert session(server, make_key(account)["key"]).get("/sdk/config").status_code == 200


@pytest.mark.usefixtures("consumer")
def test_users_are_registered_listed_and_removed(server, account):
    key = make_key(account)
    base = f"/gateway/orgs/{account.org_id}/sdk-keys/{key['id']}/users"
    user = register(account, key["id"], "Ann@Example.com", role="approver")
    assert (user["email"], user["role"], user["permissions"]) == ("ann@example.com", "approver", [])
    mirror = register(
        account, key["id"], "bob@example.com", display_name="Bob", permissions=["tasks"]
    )
    assert (mirror["role"], mirror["display_name"], mirror["permissions"]) == (
        "member",
        "Bob",
        ["tasks"],
    )
    error(account.manage.post(base, json={"email": "ANN@example.com"}), 409)
    error(account.manage.post(base, json={"email": "not an email"}), 400)
    assert [u["email"] for u in account.manage.get(base).json()["users"]] == [
        "ann@example.com",
        "bob@example.com",
    ]
    client = session(server, key["key"])
    sign_in_body = sign_in(account, client, key["id"], "carol@example.com")
    assert sign_in_body["user"]["email"] == "carol@example.com"
    carol = [u for u in account.manage.get(base).json()["users"] if u["email"].startswith("c")]
    assert account.manage.delete(f"{base}/{carol[0]['id']}").status_code == 200
    error(client.get("/sdk/config"), 401)  # her signed-in session ended
    error(account.manage.delete(f"{base}/{carol[0]['id']}"), 404)


@pytest.mark.usefixtures("consumer")
def test_otp_sign_in_with_the_dev_outbox(server, account):
    key = make_key(account)
    register(account, key["id"], "dana@example.com", role="approver")
    client = session(server, key["key"])
    r = client.post("/sdk/auth/otp/request", json={"email": "Dana@Example.com"})
    assert r.status_code == 202
    # an unregistered email gets the very same answer, and no message
    unknown = client.post("/sdk/auth/otp/request", json={"email": "nobody@example.com"})
    assert (unknown.status_code, unknown.json()) == (202, r.json())
    code = code_for("dana@example.com")
    with connection():
        assert outbox.messages(to="nobody@example.com") == []
        stored = outbox.messages(to="dana@example.com")
    assert stored[0].label == f"hyphen:{account.org_id}"
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    assert (
        error(
            client.post("/sdk/auth/otp/verify", json={"email": "dana@example.com", "code": wrong}),
            401,
        )["details"]["code"]
        == "otp_invalid"
    )
    r = client.post("/sdk/auth/otp/verify", json={"email": "dana@example.com", "code": code})
    assert r.status_code == 200, r.text
    assert r.json()["user"] == {
        "email": "dana@example.com",
        "role": "approver",
        "display_name": None,
    }
    config = client.get("/sdk/config").json()["session"]
    assert config["authenticated"] is True and config["user"]["email"] == "dana@example.com"
    # single use: the same code again, even on a new session, is a 401
    again = session(server, key["key"])
    r = again.post("/sdk/auth/otp/verify", json={"email": "dana@example.com", "code": code})
    error(r, 401)
    # an expired code is a 401
    with connection():
        first = outbox.messages(to="dana@example.com", limit=1)[0].id
    assert (
        again.post("/sdk/auth/otp/request", json={"email": "dana@example.com"}).status_code == 202
    )
    fresh = code_for("dana@example.com", after=first)
    with connection():
        SdkOtp.update(expires_at=dt.datetime(2020, 1, 1)).where(SdkOtp.used_at.is_null()).execute()
    r = again.post("/sdk/auth/otp/verify", json={"email": "dana@example.com", "code": fresh})
    error(r, 401)
    assert again.get("/sdk/config").json()["session"]["authenticated"] is False


@pytest.mark.usefixtures("consumer")
def test_five_wrong_codes_lock_the_email(server, account):
    key = make_key(account)
    register(account, key["id"], "eve@example.com")
    client = session(server, key["key"])
    assert (
        client.post("/sdk/auth/otp/request", json={"email": "eve@example.com"}).status_code == 202
    )
    code = code_for("eve@example.com")
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    answers = [
        client.post("/sdk/auth/otp/verify", json={"email": "eve@example.com", "code": wrong})
        for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    assert answers[-1].json()["details"]["code"] == "otp_locked"
    # locked: even the right code is refused, with Retry-After
    r = client.post("/sdk/auth/otp/verify", json={"email": "eve@example.com", "code": code})
    assert error(r, 429)["details"]["code"] == "otp_locked"
    assert 800 < int(r.headers["Retry-After"]) <= 900
    # an unregistered email locks the same way (nothing tells them apart)
    answers = [
        client.post("/sdk/auth/otp/verify", json={"email": "x@example.com", "code": wrong})
        for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]


def test_otp_requests_are_rate_limited_per_email(server, account):
    key = make_key(account)
    client = session(server, key["key"])
    codes = [
        client.post("/sdk/auth/otp/request", json={"email": "flood@example.com"}).status_code
        for _ in range(4)
    ]
    assert codes == [202, 202, 202, 429]
    r = client.post("/sdk/auth/otp/request", json={"email": "other@example.com"})
    assert r.status_code == 202


def test_cli_mints_a_publishable_key(server, tmp_path):
    # `agentyard keys create --kind pk_live` in a store of its own
    env = {"AGENTYARD_DATA_DIR": str(tmp_path), "PATH": ""}
    cmd = [sys.executable, "-m", "agentyard.cli", "keys", "create", "--surface", "hyphen"]
    r = subprocess.run(
        [*cmd, "--kind", "pk_live", "--scopes", f"origin:{ORIGIN},workflow:*,rate:10"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith("pk_live_")
    assert "origins https://app.example.com" in r.stderr and "10/min" in r.stderr
    r = subprocess.run(
        [*cmd, "--kind", "pk_live", "--scopes", "colour:blue"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0 and "unknown publishable key scope" in r.stderr


@pytest.mark.parametrize("body", [{}, {"email": "a@b.co", "code": "123"}, {"email": 5}])
def test_bad_otp_bodies_are_400(server, account, body):
    client = session(server, make_key(account)["key"])
    error(client.post("/sdk/auth/otp/verify", json=body), 400)
