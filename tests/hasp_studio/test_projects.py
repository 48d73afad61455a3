"""Projects over HTTP: create, list, get, update, archive; slugs, tenancy, roles, audit."""

from __future__ import annotations

from agentyard.core import audit
from agentyard.core.keys import Tenant
from agentyard.core.store import connection
from tests.hasp_studio.conftest import Client, Studio, new_project


def test_create_list_get_update(owner: Client) -> None:
    project = new_project(owner, description="Patient intake")
    assert project["role"] == "owner" and project["archived"] is False
    assert project["org_id"] == owner.account.org_id
    got = owner.get(f"/projects/{project['id']}")
    assert got.status_code == 200 and got.json()["data"]["description"] == "Patient intake"
    r = owner.patch(f"/projects/{project['id']}", json={"name": "Intake v2"})
    assert r.status_code == 200 and r.json()["data"]["name"] == "Intake v2"
    assert r.json()["data"]["slug"] == project["slug"]
    listed = owner.get("/projects").json()["data"]
    assert [p["id"] for p in listed] == [project["id"]]


def test_slug_is_made_from_the_name_and_unique_per_org(studio: Studio, owner: Client) -> None:
    r = owner.post("/projects", json={"name": "Prior Auth!"})
    assert r.status_code == 201 and r.json()["data"]["slug"] == "prior-auth"
    again = owner.post("/projects", json={"name": "Other", "slug": "prior-auth"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "CONFLICT"
    other = new_project(owner)
    clash = owner.patch(f"/projects/{other['id']}", json={"slug": "prior-auth"})
    assert clash.status_code == 409
    # Another org may use the same slug.
    elsewhere = studio.member("owner")
    assert elsewhere.post("/projects", json={"name": "x", "slug": "prior-auth"}).status_code == 201


def test_pagination(owner: Client) -> None:
    made = [new_project(owner)["id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = owner.get("/projects", params=params).json()
        seen += [p["id"] for p in body["data"]]
        if not body["meta"]["has_more"]:
            break
        cursor = body["meta"]["next_cursor"]
    assert seen == list(reversed(made))


def test_archive_makes_read_only_and_hides(owner: Client) -> None:
    project = new_project(owner)
    pid = project["id"]
    r = owner.delete(f"/projects/{pid}")
    assert r.status_code == 200 and r.json()["data"]["archived"] is True
    assert owner.get("/projects").json()["data"] == []
    listed = owner.get("/projects", params={"include_archived": "true"}).json()["data"]
    assert [p["id"] for p in listed] == [pid]
    assert owner.get(f"/projects/{pid}").status_code == 200
    for r in (
        owner.patch(f"/projects/{pid}", json={"name": "x"}),
        owner.delete(f"/projects/{pid}"),
        owner.post(f"/projects/{pid}/members", json={"email": "a@example.org", "role": "viewer"}),
    ):
        assert r.status_code == 409 and r.json()["error"]["code"] == "PROJECT_ARCHIVED"
    # The archived project still holds its slug.
    assert owner.post("/projects", json={"name": "y", "slug": project["slug"]}).status_code == 409


def test_another_orgs_project_is_404(studio: Studio, owner: Client) -> None:
    project = new_project(owner)
    stranger = studio.member("owner")
    for r in (
        stranger.get(f"/projects/{project['id']}"),
        stranger.patch(f"/projects/{project['id']}", json={"name": "x"}),
        stranger.delete(f"/projects/{project['id']}"),
        stranger.get(f"/projects/{project['id']}/members"),
    ):
        assert r.status_code == 404 and r.json()["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert stranger.get("/projects").json()["data"] == []


def test_org_roles_on_projects(studio: Studio, owner: Client) -> None:
    org = owner.account.org
    project = new_project(owner)
    viewer = studio.member("viewer", org)
    reviewer = studio.member("reviewer", org)
    builder = studio.member("builder", org)
    admin = studio.member("admin", org)
    for refused in (viewer, reviewer):
        r = refused.post("/projects", json={"name": "x"})
        assert r.status_code == 403 and r.json()["error"]["details"]["required_role"] == "builder"
    assert builder.post("/projects", json={"name": "Builder's"}).status_code == 201
    # Not a member: the project is not found for a builder, visible to an org admin.
    assert builder.get(f"/projects/{project['id']}").status_code == 404
    assert viewer.get("/projects").json()["data"] == []
    got = admin.get(f"/projects/{project['id']}")
    assert got.status_code == 200 and got.json()["data"]["role"] == "admin"
    assert (
        admin.patch(f"/projects/{project['id']}", json={"description": "by admin"}).status_code
        == 200
    )
    # Archiving needs a project owner.
    r = admin.delete(f"/projects/{project['id']}")
    assert r.status_code == 403 and r.json()["error"]["details"]["required_role"] == "owner"


def test_changes_are_in_the_project_audit(owner: Client) -> None:
    project = new_project(owner, name="Before")
    owner.patch(f"/projects/{project['id']}", json={"name": "After"})
    owner.delete(f"/projects/{project['id']}")
    with connection():
        org = Tenant.get_by_id(owner.account.org_id)
        rows, _ = audit.query(org, None, "project", project["id"], None, 10)
    entries = {e.action: e for e in rows}
    assert set(entries) == {"project.created", "project.updated", "project.archived"}
    updated = entries["project.updated"]
    assert updated.user_id == owner.account.user_id and updated.project_id == project["id"]
    assert updated.metadata["before"]["name"] == "Before"
    assert updated.metadata["after"]["name"] == "After"
    assert audit.verify_chain(org).ok
