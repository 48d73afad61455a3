"""Entities over HTTP: schemas validated on save, migrations and refusals with counts, delete,
roles, tenancy, audit and the `schema.updated` event."""

from __future__ import annotations

from agentyard.core import audit
from agentyard.core.keys import Tenant
from agentyard.core.store import connection
from tests.hasp_studio.conftest import Client, Studio, new_project

PATIENT = [
    {"name": "name", "type": "string", "required": True},
    {"name": "mrn", "type": "string", "unique": True, "phi": True},
    {"name": "age", "type": "integer"},
    {"name": "status", "type": "enum", "options": ["open", "closed"], "default": "open"},
]


def new_entity(client: Client, project_id: str, key: str = "patient", fields=PATIENT, **kw) -> dict:
    body = {"key": key, "name": key.title(), "fields": fields, **kw}
    r = client.post(f"/projects/{project_id}/entities", json=body)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def add(client: Client, entity_id: str, **data) -> dict:
    r = client.post(f"/entities/{entity_id}/records", json={"data": data})
    assert r.status_code == 201, r.text
    return r.json()["data"]


def test_create_get_list(owner: Client) -> None:
    project = new_project(owner)
    entity = new_entity(owner, project["id"])
    assert entity["key"] == "patient" and entity["schema_version"] == 1
    assert entity["display_fields"] == ["name"] and entity["events_app_id"] == project["id"]
    assert [f["name"] for f in entity["fields"]] == ["name", "mrn", "age", "status"]
    assert entity["fields"][1]["phi"] is True and entity["fields"][3]["default"] == "open"
    got = owner.get(f"/entities/{entity['id']}").json()["data"]
    assert got["record_count"] == 0 and got["fields"] == entity["fields"]
    listed = owner.get(f"/projects/{project['id']}/entities").json()["data"]
    assert [e["id"] for e in listed] == [entity["id"]]
    dup = owner.post(
        f"/projects/{project['id']}/entities",
        json={"key": "patient", "name": "x", "fields": PATIENT},
    )
    assert dup.status_code == 409


def test_definitions_are_validated_naming_the_field(owner: Client) -> None:
    project = new_project(owner)
    bad = [
        ([{"name": "id", "type": "string"}], "fields[0]"),
        ([{"name": "a", "type": "string"}, {"name": "a", "type": "text"}], "fields[1]"),
        ([{"name": "s", "type": "enum"}], "fields[0]"),
        ([{"name": "r", "type": "reference", "reference": "nothing"}], "fields[0]"),
        ([{"name": "n", "type": "integer", "default": "x"}], "fields[0]"),
        ([{"name": "j", "type": "json", "unique": True}], "fields[0]"),
    ]
    for fields, param in bad:
        r = owner.post(
            f"/projects/{project['id']}/entities", json={"key": "e", "name": "E", "fields": fields}
        )
        assert r.status_code == 422, (fields, r.text)
        assert r.json()["error"]["param"] == param
    assert owner.get(f"/projects/{project['id']}/entities").json()["data"] == []
    # A reference to an entity of the project (or to itself) is fine.
    new_entity(owner, project["id"], "clinic", [{"name": "name", "type": "string"}])
    new_entity(
        owner, project["id"], "visit",
        [{"name": "clinic", "type": "reference", "reference": "clinic"},
         {"name": "previous", "type": "reference", "reference": "visit"}],
    )  # fmt: skip


def test_migration_adds_renames_widens(owner: Client) -> None:
    project = new_project(owner)
    entity = new_entity(owner, project["id"])
    rec = add(owner, entity["id"], name="Ann", mrn="M1", age=40)
    fields = [
        {"name": "full_name", "type": "text", "required": True},
        {"name": "mrn", "type": "string", "unique": True, "phi": True},
        {"name": "age", "type": "number"},
        {"name": "status", "type": "enum", "options": ["open", "closed"]},
        {"name": "ward", "type": "string", "default": "A"},
    ]
    r = owner.patch(
        f"/entities/{entity['id']}", json={"fields": fields, "renames": {"name": "full_name"}}
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["schema_version"] == 2
    got = owner.get(f"/entities/{entity['id']}/records/{rec['id']}").json()["data"]
    assert got["data"] == {
        "full_name": "Ann", "mrn": "M1", "age": 40, "status": "open", "ward": "A"
    }  # fmt: skip
    assert got["version"] == 2
    assert r.json()["data"]["display_fields"] == ["full_name"]  # follows the rename
    assert got["display"] == "Ann"


def test_refusals_list_what_breaks_with_counts(owner: Client) -> None:
    project = new_project(owner)
    entity = new_entity(owner, project["id"])
    for i, age in enumerate((30, 30, None)):
        add(owner, entity["id"], name=f"P{i}", mrn=f"M{i}", **({"age": age} if age else {}))
    fields = [
        {"name": "name", "type": "integer", "required": True},  # narrowing: 3 break
        {"name": "mrn", "type": "string", "phi": True},
        {"name": "age", "type": "integer", "unique": True, "required": True},  # 1 empty, 2 dupes
        {"name": "status", "type": "enum", "options": ["open", "closed"]},
        {"name": "site", "type": "string", "required": True},  # 3 without default
    ]
    r = owner.patch(f"/entities/{entity['id']}", json={"fields": fields})
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "SCHEMA_CONFLICT"
    breaks = {(b["field"], b["records"]) for b in err["details"]["breaks"]}
    assert breaks == {("name", 3), ("age", 1), ("age", 2), ("site", 3)}
    assert owner.get(f"/entities/{entity['id']}").json()["data"]["schema_version"] == 1
    # Removing a field with values needs drop_fields.
    slim = [f for f in PATIENT if f["name"] != "age"]
    r = owner.patch(f"/entities/{entity['id']}", json={"fields": slim})
    assert r.status_code == 409 and r.json()["error"]["details"]["breaks"][0]["records"] == 2
    r = owner.patch(f"/entities/{entity['id']}", json={"fields": slim, "drop_fields": True})
    assert r.status_code == 200
    records = owner.get(f"/entities/{entity['id']}/records").json()["data"]
    assert all("age" not in rec["data"] for rec in records)


def test_delete_refused_while_records_unless_forced(owner: Client) -> None:
    project = new_project(owner)
    entity = new_entity(owner, project["id"])
    add(owner, entity["id"], name="Ann")
    r = owner.delete(f"/entities/{entity['id']}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "ENTITY_HAS_RECORDS"
    assert r.json()["error"]["details"]["records"] == 1
    r = owner.delete(f"/entities/{entity['id']}", params={"force": "true"})
    assert r.status_code == 200 and r.json()["data"]["records_deleted"] == 1
    assert owner.get(f"/entities/{entity['id']}").status_code == 404


def test_roles_and_tenancy(studio: Studio, owner: Client) -> None:
    project = new_project(owner)
    entity = new_entity(owner, project["id"])
    org = owner.account.org
    viewer = studio.member("viewer", org)
    builder = studio.member("builder", org)
    outsider = studio.member("owner")
    # Not a member of the project: not found.
    assert viewer.get(f"/entities/{entity['id']}").status_code == 404
    for who, role in ((viewer, "viewer"), (builder, "builder")):
        r = owner.post(
            f"/projects/{project['id']}/members",
            json={"user_id": who.account.user_id, "role": role},
        )
        assert r.status_code == 201, r.text
    assert viewer.get(f"/entities/{entity['id']}").status_code == 200
    r = viewer.patch(f"/entities/{entity['id']}", json={"name": "x"})
    assert r.status_code == 403 and r.json()["error"]["details"]["required_role"] == "builder"
    assert (
        viewer.post(
            f"/projects/{project['id']}/entities", json={"key": "k", "name": "K", "fields": PATIENT}
        ).status_code
        == 403
    )
    assert builder.patch(f"/entities/{entity['id']}", json={"name": "Patients"}).status_code == 200
    token = studio.with_token(builder)
    assert token.get(f"/entities/{entity['id']}").json()["data"]["name"] == "Patients"
    for r in (
        outsider.get(f"/entities/{entity['id']}"),
        outsider.patch(f"/entities/{entity['id']}", json={"name": "x"}),
        outsider.delete(f"/entities/{entity['id']}"),
        outsider.get(f"/projects/{project['id']}/entities"),
    ):
        assert r.status_code == 404


def test_archived_project_is_read_only_and_changes_are_audited(owner: Client) -> None:
    project = new_project(owner)
    entity = new_entity(owner, project["id"])
    owner.patch(f"/entities/{entity['id']}", json={"name": "Patients"})
    with connection():
        entries, _ = audit.query(
            Tenant.get_by_id(owner.account.org_id), None, "entity", None, None, 10
        )
    assert [e.action for e in entries] == ["entity.updated", "entity.created"]
    assert entries[0].metadata["before"]["name"] == "Patient"
    assert entries[0].metadata["after"]["name"] == "Patients"
    assert entries[0].user_id == owner.account.user_id
    owner.delete(f"/projects/{project['id']}")
    r = owner.patch(f"/entities/{entity['id']}", json={"name": "x"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "PROJECT_ARCHIVED"
    assert owner.get(f"/entities/{entity['id']}").status_code == 200
