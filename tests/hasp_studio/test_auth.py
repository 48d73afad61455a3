"""Sign-in over HTTP: cookies and CSRF, logout, password change, expiry, throttling, tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from argon2 import PasswordHasher, extract_parameters

from agentyard.config import Settings
from agentyard.core import runtime
from agentyard.core.store import connection
from agentyard.hasp.studio.models import StudioSession, StudioUser
from tests.hasp_studio.conftest import API, Client, Studio


def test_login_sets_httponly_session_and_readable_csrf_cookie(studio: Studio) -> None:
    account = studio.account("builder")
    http = studio.http()
    r = http.post(API + "/auth/login", json={"email": account.email, "password": account.password})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["user"]["email"] == account.email and data["user"]["role"] == "builder"
    assert data["org"]["id"] == account.org_id
    cookies = r.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("hasp_session="))
    csrf = next(c for c in cookies if c.startswith("hasp_csrf="))
    assert "httponly" in session.lower() and "samesite=lax" in session.lower()
    assert "httponly" not in csrf.lower()
    assert "secure" not in session.lower()  # plain http here
    assert csrf.split(";")[0] == f"hasp_csrf={data['csrf_token']}"
    me = http.get(API + "/auth/me")
    assert me.status_code == 200
    assert me.json()["data"]["auth"]["method"] == "session"


def test_wrong_password_and_unknown_email_answer_alike(studio: Studio) -> None:
    account = studio.account()
    http = studio.http()
    wrong = http.post(
        API + "/auth/login", json={"email": account.email, "password": "nope-nope-nope"}
    )
    unknown = http.post(
        API + "/auth/login", json={"email": "ghost@example.org", "password": "x" * 12}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["code"] == unknown.json()["error"]["code"] == "INVALID_CREDENTIALS"
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]
    assert "hasp_session" not in wrong.headers.get("set-cookie", "")


def test_mutations_need_the_csrf_header(studio: Studio, owner: Client) -> None:
    without = owner.post("/projects", json={"name": "No token"}, csrf=False)
    assert without.status_code == 403
    assert without.json()["error"]["code"] == "CSRF_FAILED"
    wrong = owner.post(
        "/projects", json={"name": "x"}, csrf=False, headers={"X-CSRF-Token": "guess"}
    )
    assert wrong.status_code == 403
    listed = owner.get("/projects")
    assert listed.status_code == 200 and listed.json()["data"] == []  # nothing was created
    ok = owner.post("/projects", json={"name": "With token"})
    assert ok.status_code == 201, ok.text


def test_no_credentials_is_401(studio: Studio) -> None:
    r = studio.http().get(API + "/projects")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "UNAUTHENTICATED"


def test_logout_revokes_the_session(studio: Studio, owner: Client) -> None:
    stolen = dict(owner.http.cookies)
    r = owner.post("/auth/logout")
    assert r.status_code == 200 and r.json()["data"]["signed_out"] is True
    replay = studio.http()
    replay.cookies.update(stolen)
    assert replay.get(API + "/auth/me").status_code == 401
    assert owner.get("/auth/me").status_code == 401


def test_password_change_revokes_other_sessions(studio: Studio) -> None:
    account = studio.account("viewer")
    first, second = studio.login(account), studio.login(account)
    bad = first.post(
        "/auth/password", json={"current_password": "wrong-password", "new_password": "n" * 16}
    )
    assert bad.status_code == 401
    short = first.post(
        "/auth/password", json={"current_password": account.password, "new_password": "short"}
    )
    assert short.status_code == 422
    r = first.post(
        "/auth/password",
        json={"current_password": account.password, "new_password": "a-new-secret-phrase"},
    )
    assert r.status_code == 200, r.text
    assert first.get("/auth/me").status_code == 200  # the session that changed it stays
    assert second.get("/auth/me").status_code == 401
    account.password = "a-new-secret-phrase"
    assert studio.login(account).get("/auth/me").status_code == 200


def test_idle_and_absolute_expiry(studio: Studio, owner: Client) -> None:
    session_id = owner.get("/auth/me").json()["data"]["auth"]["id"]
    idle = dt.timedelta(minutes=runtime.settings().hasp_studio_session_idle_minutes)
    with connection():
        row = StudioSession.get_by_id(session_id)
        StudioSession.update(last_seen_at=row.last_seen_at - idle).where(
            StudioSession.id == session_id
        ).execute()
    assert owner.get("/auth/me").status_code == 401
    other = studio.login(owner.account)
    session_id = other.get("/auth/me").json()["data"]["auth"]["id"]
    with connection():
        row = StudioSession.get_by_id(session_id)
        StudioSession.update(expires_at=row.created_at).where(
            StudioSession.id == session_id
        ).execute()
    assert other.get("/auth/me").status_code == 401


def test_login_is_throttled_per_account(studio: Studio, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        runtime.current(),
        "settings",
        replace(runtime.settings(), hasp_studio_login_per_minute_account=3),
    )
    account = studio.account()
    http = studio.http()
    codes = [
        http.post(
            API + "/auth/login", json={"email": account.email, "password": "wrong-password"}
        ).status_code
        for _ in range(3)
    ]
    assert codes == [401, 401, 401]
    r = http.post(API + "/auth/login", json={"email": account.email, "password": account.password})
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert r.json()["error"]["code"] == "RATE_LIMITED"
    # Another account is not affected.
    assert studio.login(studio.account()).get("/auth/me").status_code == 200


def test_login_is_throttled_per_ip(studio: Studio, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        runtime.current(),
        "settings",
        replace(runtime.settings(), hasp_studio_login_per_minute_ip=2),
    )
    # No reset of the counters: on Redis it would clear every concurrent test's. Earlier
    # logins from this address only bring the 429 sooner; the counter of this limit (2) is
    # not the default limit's.
    http = studio.http()
    for i in range(2):
        http.post(API + "/auth/login", json={"email": f"x{i}@example.org", "password": "p" * 12})
    r = http.post(API + "/auth/login", json={"email": "y@example.org", "password": "p" * 12})
    assert r.status_code == 429


def test_personal_access_tokens(studio: Studio, owner: Client) -> None:
    created = owner.post("/auth/tokens", json={"name": "ci", "expires_in_days": 30})
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert data["token"].startswith("hasp_pat_") and len(data["token"]) == len("hasp_pat_") + 40
    bearer = Client(studio.http(), token=data["token"])
    me = bearer.get("/auth/me")
    assert me.status_code == 200 and me.json()["data"]["auth"] == {
        "method": "token",
        "id": data["id"],
        "expires_at": data["expires_at"],
    }
    # Bearer needs no CSRF token.
    assert bearer.post("/projects", json={"name": "From CI"}).status_code == 201
    listed = owner.get("/auth/tokens").json()["data"]
    assert [t["id"] for t in listed] == [data["id"]] and "token" not in listed[0]
    # Another member cannot see or revoke it.
    other = studio.member("owner")
    assert other.delete(f"/auth/tokens/{data['id']}").status_code == 404
    revoked = owner.delete(f"/auth/tokens/{data['id']}")
    assert revoked.status_code == 200 and revoked.json()["data"]["revoked_at"]
    assert bearer.get("/auth/me").status_code == 401
    assert Client(studio.http(), token="hasp_pat_" + "0" * 40).get("/auth/me").status_code == 401


def test_cookies_are_secure_over_https(studio: Studio) -> None:
    """Behind a TLS proxy uvicorn trusts (loopback by default, FORWARDED_ALLOW_IPS), the
    request's scheme is https: both cookies get `Secure`."""
    account = studio.account()
    r = studio.http().post(
        API + "/auth/login",
        json={"email": account.email, "password": account.password},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert r.status_code == 200
    assert all("secure" in c.lower() for c in r.headers.get_list("set-cookie"))


def test_password_hashes_follow_the_configured_cost(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default is argon2-cffi's (RFC 9106's second recommendation); a member's hash made
    at another cost still signs in and is replaced by one at the current cost."""
    default = Settings.from_env({})
    assert (default.hasp_studio_password_time_cost, default.hasp_studio_password_memory_kib) == (
        PasswordHasher().time_cost,
        PasswordHasher().memory_cost,
    )

    def stored(email: str) -> str:
        with connection():
            return StudioUser.get(StudioUser.email == email).password_hash

    account = studio.account()  # hashed at the tests' cost (tests/kit/server.py)
    before = extract_parameters(stored(account.email))
    assert (before.time_cost, before.memory_cost) == (1, 1024)

    monkeypatch.setattr(
        runtime.current(),
        "settings",
        replace(runtime.settings(), hasp_studio_password_time_cost=2),
    )
    assert studio.login(account).get("/auth/me").status_code == 200
    after = stored(account.email)
    assert (extract_parameters(after).time_cost, extract_parameters(after).memory_cost) == (2, 1024)
    assert studio.login(account).get("/auth/me").status_code == 200  # same password, new cost
    assert stored(account.email) == after  # at the current cost: not hashed again

    floors = Settings.from_env(
        {
            "AGENTYARD_HASP_STUDIO_PASSWORD_TIME_COST": "0",
            "AGENTYARD_HASP_STUDIO_PASSWORD_MEMORY_KIB": "16",
        }
    )
    assert (floors.hasp_studio_password_time_cost, floors.hasp_studio_password_memory_kib) == (
        1,
        32,
    )  # argon2's floors: 1 pass, 8 KiB per lane
