"""Project apps over HTTP: create, list, slugs, roles, tenancy, archived projects, audit."""

from __future__ import annotations

from agentyard.core import audit
from agentyard.core.keys import Tenant
from agentyard.core.store import connection
from tests.hasp_studio.conftest import Client, Studio, new_project


def test_create_and_list_apps(owner: Client, studio: Studio) -> None:
    project = new_project(owner)
    r = owner.post(f"/projects/{project['id']}/apps", json={"name": "Clinic Intake"})
    assert r.status_code == 201, r.text
    app = r.json()["data"]
    assert app["id"].startswith("app_") and app["slug"] == "clinic-intake"
    assert app["project_id"] == project["id"]
    second = owner.post(
        f"/projects/{project['id']}/apps", json={"name": "B", "slug": "b", "description": "d"}
    ).json()["data"]
    listed = owner.get(f"/projects/{project['id']}/apps").json()
    assert [a["id"] for a in listed["data"]] == [second["id"], app["id"]]
    page = owner.get(f"/projects/{project['id']}/apps", params={"limit": 1}).json()
    assert page["meta"]["has_more"] is True
    rest = owner.get(
        f"/projects/{project['id']}/apps", params={"cursor": page["meta"]["next_cursor"]}
    ).json()
    assert [a["id"] for a in rest["data"]] == [app["id"]]
    # Slugs are unique per project, not per org.
    clash = owner.post(f"/projects/{project['id']}/apps", json={"name": "x", "slug": "b"})
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "CONFLICT"
    other = new_project(owner)
    assert (
        owner.post(f"/projects/{other['id']}/apps", json={"name": "B", "slug": "b"}).status_code
        == 201
    )
    # Audited with the state after.
    with connection():
        org = Tenant.get_by_id(owner.account.org_id)
        entries = audit.query(org, action="app.created")[0]
    assert any(
        e.entity_id == app["id"] and e.metadata["after"]["slug"] == "clinic-intake" for e in entries
    )


def test_bad_input_and_token_flow(owner: Client, studio: Studio) -> None:
    project = new_project(owner)
    for body in ({}, {"name": ""}, {"name": "x", "slug": "Bad Slug"}, {"name": "x", "extra": 1}):
        r = owner.post(f"/projects/{project['id']}/apps", json=body)
        assert r.status_code == 422, body
    bearer = studio.with_token(owner)
    r = bearer.post(f"/projects/{project['id']}/apps", json={"name": "By token"})
    assert r.status_code == 201
    # The cookie flow needs the CSRF header.
    r = owner.post(f"/projects/{project['id']}/apps", json={"name": "x"}, csrf=False)
    assert r.status_code == 403 and r.json()["error"]["code"] == "CSRF_FAILED"


def test_roles_tenancy_and_archived(owner: Client, studio: Studio) -> None:
    project = new_project(owner)
    pid = project["id"]
    viewer = studio.member("viewer", owner.account.org)
    builder = studio.member("builder", owner.account.org)
    # Not members yet: the project is not found.
    assert viewer.get(f"/projects/{pid}/apps").status_code == 404
    for client, role in ((viewer, "viewer"), (builder, "builder")):
        r = owner.post(
            f"/projects/{pid}/members", json={"user_id": client.account.user_id, "role": role}
        )
        assert r.status_code == 201, r.text
    assert viewer.get(f"/projects/{pid}/apps").status_code == 200
    refused = viewer.post(f"/projects/{pid}/apps", json={"name": "x"})
    assert (
        refused.status_code == 403
        and refused.json()["error"]["details"]["required_role"] == "builder"
    )
    assert builder.post(f"/projects/{pid}/apps", json={"name": "x"}).status_code == 201
    stranger = studio.member("owner")
    assert stranger.get(f"/projects/{pid}/apps").status_code == 404
    assert stranger.post(f"/projects/{pid}/apps", json={"name": "x"}).status_code == 404
    owner.delete(f"/projects/{pid}")
    r = owner.post(f"/projects/{pid}/apps", json={"name": "y"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "PROJECT_ARCHIVED"
