"""Project members over HTTP: add, invite and accept, role changes, the last owner, roles."""

from __future__ import annotations

import time

import pytest

from agentyard.core import jobs, outbox
from agentyard.core.store import connection
from agentyard.hasp.studio.models import Invite, StudioUser
from tests.hasp_studio.conftest import API, Client, Studio, new_project


@pytest.fixture
def consumer(app):
    """A job worker in this process: it sends the queued invitation emails."""
    jobs.start_consumer(workers=1, poll_interval=0.05, scheduler_interval=0.05)
    yield
    jobs.stop_consumer()


def _invite_token(email: str) -> str:
    """The token in the newest invitation to `email`, once a worker has delivered it."""
    deadline = time.monotonic() + 20
    while True:
        with connection():
            rows = outbox.messages(to=email, limit=1)
        if rows:
            break
        assert time.monotonic() < deadline, f"no invitation to {email} in the dev outbox"
        time.sleep(0.05)
    assert rows[0].label.startswith("hasp-studio:")
    return rows[0].text.split("#token=", 1)[1].split()[0]


def test_add_existing_org_user_by_id_and_email(studio: Studio, owner: Client) -> None:
    org = owner.account.org
    project = new_project(owner)
    a = studio.account("builder", org)
    b = studio.account("viewer", org)
    r = owner.post(
        f"/projects/{project['id']}/members", json={"user_id": a.user_id, "role": "builder"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["data"]["status"] == "active" and r.json()["data"]["org_role"] == "builder"
    r = owner.post(
        f"/projects/{project['id']}/members", json={"email": b.email.upper(), "role": "reviewer"}
    )
    assert r.status_code == 201 and r.json()["data"]["user_id"] == b.user_id
    again = owner.post(
        f"/projects/{project['id']}/members", json={"user_id": a.user_id, "role": "viewer"}
    )
    assert again.status_code == 409
    members = owner.get(f"/projects/{project['id']}/members").json()["data"]
    assert {m["user_id"]: m["role"] for m in members} == {
        owner.account.user_id: "owner",
        a.user_id: "builder",
        b.user_id: "reviewer",
    }
    both = owner.post(
        f"/projects/{project['id']}/members",
        json={"user_id": a.user_id, "email": a.email, "role": "viewer"},
    )
    assert both.status_code == 422
    # Now a project member, the builder sees the project.
    assert studio.login(a).get(f"/projects/{project['id']}").json()["data"]["role"] == "builder"


@pytest.mark.usefixtures("consumer")
def test_invite_and_accept(studio: Studio, owner: Client) -> None:
    project = new_project(owner)
    email = "new.person@clinic.example"
    r = owner.post(
        f"/projects/{project['id']}/members",
        json={"email": email, "name": "New", "role": "builder"},
    )
    assert r.status_code == 201, r.text
    member = r.json()["data"]
    assert member["status"] == "pending" and member["invite_expires_at"]
    http = studio.http()
    # A pending member cannot sign in yet.
    assert (
        http.post(
            API + "/auth/login", json={"email": email, "password": "whatever-password"}
        ).status_code
        == 401
    )
    token = _invite_token(email)
    bad = http.post(API + "/auth/accept-invite", json={"token": "nope", "password": "p" * 14})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "INVALID_INVITE"
    ok = http.post(
        API + "/auth/accept-invite", json={"token": token, "password": "chosen-password"}
    )
    assert ok.status_code == 200, ok.text
    csrf = ok.json()["data"]["csrf_token"]
    me = http.get(API + "/auth/me").json()["data"]
    assert me["user"]["status"] == "active"
    assert me["projects"] == [{"id": project["id"], "slug": project["slug"], "role": "builder"}]
    assert http.post(API + "/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    # Single use.
    assert (
        http.post(
            API + "/auth/accept-invite", json={"token": token, "password": "another-password"}
        ).status_code
        == 401
    )
    login = http.post(API + "/auth/login", json={"email": email, "password": "chosen-password"})
    assert login.status_code == 200


def test_email_of_another_org_is_409(studio: Studio, owner: Client) -> None:
    stranger = studio.account("viewer")
    project = new_project(owner)
    r = owner.post(
        f"/projects/{project['id']}/members", json={"email": stranger.email, "role": "viewer"}
    )
    assert r.status_code == 409
    r = owner.post(
        f"/projects/{project['id']}/members", json={"user_id": stranger.user_id, "role": "viewer"}
    )
    assert r.status_code == 404


def test_last_owner_cannot_be_removed_or_demoted(studio: Studio, owner: Client) -> None:
    project = new_project(owner)
    pid, me = project["id"], owner.account.user_id
    r = owner.delete(f"/projects/{pid}/members/{me}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "LAST_OWNER"
    r = owner.patch(f"/projects/{pid}/members/{me}", json={"role": "admin"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "LAST_OWNER"
    second = studio.account("builder", owner.account.org)
    owner.post(f"/projects/{pid}/members", json={"user_id": second.user_id, "role": "owner"})
    assert owner.patch(f"/projects/{pid}/members/{me}", json={"role": "admin"}).status_code == 200
    assert owner.delete(f"/projects/{pid}/members/{me}").status_code == 200
    assert owner.get(f"/projects/{pid}").status_code == 200  # still an org owner


def test_member_roles(studio: Studio, owner: Client) -> None:
    org = owner.account.org
    project = new_project(owner)
    pid = project["id"]
    accounts = {role: studio.account("viewer", org) for role in ("viewer", "builder", "admin")}
    for role, account in accounts.items():
        r = owner.post(f"/projects/{pid}/members", json={"user_id": account.user_id, "role": role})
        assert r.status_code == 201
    viewer, builder, admin = (studio.login(accounts[r]) for r in ("viewer", "builder", "admin"))
    assert viewer.get(f"/projects/{pid}/members").status_code == 200
    outsider = studio.account("viewer", org)
    for refused in (viewer, builder):
        r = refused.post(
            f"/projects/{pid}/members", json={"user_id": outsider.user_id, "role": "viewer"}
        )
        assert r.status_code == 403 and r.json()["error"]["details"]["required_role"] == "admin"
        assert refused.patch(f"/projects/{pid}", json={"name": "x"}).status_code == 403
    # An admin adds members up to admin, not owners.
    r = admin.post(f"/projects/{pid}/members", json={"user_id": outsider.user_id, "role": "owner"})
    assert r.status_code == 403
    r = admin.post(f"/projects/{pid}/members", json={"user_id": outsider.user_id, "role": "admin"})
    assert r.status_code == 201
    r = admin.patch(f"/projects/{pid}/members/{owner.account.user_id}", json={"role": "viewer"})
    assert r.status_code == 403
    r = admin.patch(
        f"/projects/{pid}/members/{accounts['builder'].user_id}", json={"role": "reviewer"}
    )
    assert r.status_code == 200 and r.json()["data"]["role"] == "reviewer"
    # A member may leave; a viewer cannot remove others.
    assert viewer.delete(f"/projects/{pid}/members/{outsider.user_id}").status_code == 403
    assert viewer.delete(f"/projects/{pid}/members/{accounts['viewer'].user_id}").status_code == 200
    assert viewer.get(f"/projects/{pid}").status_code == 404
    assert admin.delete(f"/projects/{pid}/members/nope").status_code == 404


def test_bearer_token_acts_with_the_members_roles(studio: Studio, owner: Client) -> None:
    org = owner.account.org
    viewer = studio.member("viewer", org)
    ci = studio.with_token(viewer)
    r = ci.post("/projects", json={"name": "x"})
    assert r.status_code == 403
    project = new_project(owner)
    assert ci.get(f"/projects/{project['id']}").status_code == 404
    owner.post(
        f"/projects/{project['id']}/members",
        json={"user_id": viewer.account.user_id, "role": "admin"},
    )
    assert ci.patch(f"/projects/{project['id']}", json={"description": "ci"}).status_code == 200


@pytest.mark.usefixtures("consumer")
def test_an_expired_invitation_is_refused(studio: Studio, owner: Client) -> None:
    project = new_project(owner)
    email = "late.person@clinic.example"
    r = owner.post(f"/projects/{project['id']}/members", json={"email": email, "role": "viewer"})
    assert r.status_code == 201
    token = _invite_token(email)
    with connection():
        user = StudioUser.get(StudioUser.email == email)
        row = Invite.get(Invite.user == user.id)
        Invite.update(expires_at=row.created_at).where(Invite.id == row.id).execute()
    http = studio.http()
    r = http.post(API + "/auth/accept-invite", json={"token": token, "password": "chosen-password"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "INVALID_INVITE"
    with connection():
        assert StudioUser.get_by_id(user.id).status == "pending"
