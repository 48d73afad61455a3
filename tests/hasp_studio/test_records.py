# ruff: noqa: F811 - the receiver and consumer fixtures come from tests.hasp_ai.test_webhooks
"""Records over HTTP: validation, ETag/If-Match (412), filters, sorts and cursor pages, roles,
tenancy, phi redaction in the audit, and a change delivered as a signed `record.updated` to a
receiver registered through `/hasp-ai/v1/webhooks` for the entity's app."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
import pytest

from agentyard.core import audit, keys
from agentyard.core.keys import Tenant
from agentyard.core.store import connection
from agentyard.hasp import SURFACE
from agentyard.hasp.auth import SCOPES, new_secret
from tests.hasp_ai.test_webhooks import Receiver, consumer, receiver  # noqa: F401  (fixtures)
from tests.hasp_studio.conftest import Client, Studio, new_project
from tests.hasp_studio.test_entities import PATIENT, add, new_entity


def test_crud_with_versions_and_etags(owner: Client) -> None:
    project = new_project(owner)
    entity = new_entity(owner, project["id"])
    r = owner.post(f"/entities/{entity['id']}/records", json={"data": {"name": "Ann", "age": 4}})
    assert r.status_code == 201 and r.headers["ETag"] == '"1"'
    rec = r.json()["data"]
    assert rec["data"] == {"name": "Ann", "mrn": None, "age": 4, "status": "open"}
    assert rec["version"] == 1 and rec["display"] == "Ann"
    path = f"/entities/{entity['id']}/records/{rec['id']}"
    got = owner.get(path)
    assert got.status_code == 200 and got.headers["ETag"] == '"1"'
    r = owner.patch(path, json={"data": {"age": 5}}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.headers["ETag"] == '"2"'
    assert r.json()["data"]["data"]["age"] == 5 and r.json()["data"]["data"]["name"] == "Ann"
    stale = owner.patch(path, json={"data": {"age": 6}}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "PRECONDITION_FAILED"
    assert owner.get(path).json()["data"]["data"]["age"] == 5
    # Without If-Match the write applies to the current version.
    assert owner.patch(path, json={"data": {"age": None}}).json()["data"]["version"] == 3
    assert owner.delete(path, headers={"If-Match": '"2"'}).status_code == 412
    r = owner.delete(path, headers={"If-Match": 'W/"3"'})
    assert r.status_code == 200
    assert owner.get(path).status_code == 404


def test_values_are_validated_naming_the_field(owner: Client) -> None:
    project = new_project(owner)
    entity = new_entity(owner, project["id"])
    cases = [
        ({"age": 1}, "data.name"),  # required
        ({"name": "x", "age": "old"}, "data.age"),
        ({"name": "x", "status": "lost"}, "data.status"),
        ({"name": "x", "colour": "red"}, "data.colour"),
        ({"name": 7}, "data.name"),
    ]
    for data, param in cases:
        r = owner.post(f"/entities/{entity['id']}/records", json={"data": data})
        assert r.status_code == 422, (data, r.text)
        assert r.json()["error"]["param"] == param
    add(owner, entity["id"], name="Ann", mrn="M1")
    dup = owner.post(f"/entities/{entity['id']}/records", json={"data": {"name": "B", "mrn": "M1"}})
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "UNIQUE_VIOLATION"
    assert len(owner.get(f"/entities/{entity['id']}/records").json()["data"]) == 1


def test_references_must_name_a_record_of_the_entity(owner: Client) -> None:
    project = new_project(owner)
    clinic = new_entity(owner, project["id"], "clinic", [{"name": "name", "type": "string"}])
    visit = new_entity(
        owner, project["id"], "visit",
        [{"name": "clinic", "type": "reference", "reference": "clinic", "required": True}],
    )  # fmt: skip
    c = add(owner, clinic["id"], name="North")
    assert add(owner, visit["id"], clinic=c["id"])["data"]["clinic"] == c["id"]
    r = owner.post(f"/entities/{visit['id']}/records", json={"data": {"clinic": "rec_" + "0" * 26}})
    assert r.status_code == 422 and r.json()["error"]["param"] == "data.clinic"
    assert owner.delete(f"/entities/{clinic['id']}", params={"force": "true"}).status_code == 409


FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "age", "type": "integer"},
    {"name": "score", "type": "number"},
    {"name": "active", "type": "boolean"},
    {"name": "born", "type": "date"},
    {"name": "seen", "type": "datetime"},
    {"name": "tier", "type": "enum", "options": ["a", "b", "c"]},
    {"name": "extra", "type": "json"},
]


@pytest.fixture
def people(owner: Client) -> tuple[Client, str]:
    project = new_project(owner)
    entity = new_entity(owner, project["id"], "person", FIELDS)
    rows = [
        dict(
            name="Anna, Lee",
            age=30,
            score=1.5,
            active=True,
            born="1990-01-02",
            seen="2026-01-01T10:00:00+02:00",
            tier="a",
            extra={"k": 1},
        ),
        dict(name="bob", age=25, score=10, active=False, born="1995-05-05", tier="b"),
        dict(name="Carla", age=41, score=-2.25, active=True, born="1980-12-31", tier="c"),
        dict(name="dan", age=None, active=False, tier="a"),
        dict(name="Eve", age=25, score=3, born="2001-07-07", seen="2026-02-01T00:00:00Z"),
    ]
    for row in rows:
        add(owner, entity["id"], **{k: v for k, v in row.items() if v is not None})
    return owner, entity["id"]


def names(client: Client, entity_id: str, **params) -> list[str]:
    r = client.get(f"/entities/{entity_id}/records", params=params)
    assert r.status_code == 200, r.text
    return [rec["data"]["name"] for rec in r.json()["data"]]


def test_filters(people) -> None:
    client, eid = people
    assert names(client, eid, filter="age:eq:25", sort="name") == ["Eve", "bob"]
    assert names(client, eid, filter="age:ne:25", sort="name") == ["Anna, Lee", "Carla"]
    assert names(client, eid, filter="age:gt:25,age:lte:41", sort="age") == ["Anna, Lee", "Carla"]
    assert names(client, eid, filter="score:lt:2", sort="score") == ["Carla", "Anna, Lee"]
    assert names(client, eid, filter="active:eq:true", sort="name") == ["Anna, Lee", "Carla"]
    assert names(client, eid, filter="tier:in:a|c", sort="name") == ["Anna, Lee", "Carla", "dan"]
    assert names(client, eid, filter="name:contains:AN", sort="name") == ["Anna, Lee", "dan"]
    assert names(client, eid, filter=r"name:eq:Anna\, Lee") == ["Anna, Lee"]
    assert names(client, eid, filter="born:gte:1990-01-01", sort="born") == [
        "Anna, Lee", "bob", "Eve"
    ]  # fmt: skip
    assert names(client, eid, filter="seen:lt:2026-01-01T09:00:00Z") == ["Anna, Lee"]
    assert names(client, eid, filter="age:null:true") == ["dan"]
    assert names(client, eid, filter="extra:null:false") == ["Anna, Lee"]
    for bad in ("nope:eq:1", "age:like:1", "age:eq:x", "age", "extra:eq:1", "active:eq:yes"):
        r = client.get(f"/entities/{eid}/records", params={"filter": bad})
        assert r.status_code == 422, bad
        assert r.json()["error"]["code"] == "VALIDATION_FAILED"


def test_sorts_put_missing_values_last(people) -> None:
    client, eid = people
    assert names(client, eid, sort="age") == ["bob", "Eve", "Anna, Lee", "Carla", "dan"]
    assert names(client, eid, sort="-age") == ["Carla", "Anna, Lee", "Eve", "bob", "dan"]
    assert names(client, eid, sort="name") == ["Anna, Lee", "Carla", "Eve", "bob", "dan"]
    assert names(client, eid, sort="-seen")[:2] == ["Eve", "Anna, Lee"]
    assert names(client, eid) == ["Eve", "dan", "Carla", "bob", "Anna, Lee"]  # -created_at
    assert client.get(f"/entities/{eid}/records", params={"sort": "extra"}).status_code == 422


@pytest.mark.parametrize("sort", ["age", "-age", "name", "-score", "active", "id", "-created_at"])
def test_cursor_pages_cover_every_record_once(people, sort: str) -> None:
    client, eid = people
    whole = names(client, eid, sort=sort, limit=100)
    seen, cursor = [], None
    while True:
        params = {"sort": sort, "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get(f"/entities/{eid}/records", params=params).json()
        seen += [rec["data"]["name"] for rec in body["data"]]
        if not body["meta"]["has_more"]:
            assert body["meta"]["next_cursor"] is None
            break
        cursor = body["meta"]["next_cursor"]
    assert seen == whole and len(seen) == 5


def test_cursor_of_another_sort_is_refused(people) -> None:
    client, eid = people
    cursor = client.get(f"/entities/{eid}/records", params={"sort": "age", "limit": 1}).json()[
        "meta"
    ]["next_cursor"]
    r = client.get(f"/entities/{eid}/records", params={"sort": "name", "cursor": cursor})
    assert r.status_code == 422 and r.json()["error"]["param"] == "cursor"
    assert client.get(f"/entities/{eid}/records", params={"cursor": "abc"}).status_code == 422


def test_roles_and_tenancy(studio: Studio, owner: Client) -> None:
    project = new_project(owner)
    entity = new_entity(owner, project["id"])
    rec = add(owner, entity["id"], name="Ann")
    org = owner.account.org
    viewer = studio.member("viewer", org)
    owner.post(
        f"/projects/{project['id']}/members",
        json={"user_id": viewer.account.user_id, "role": "viewer"},
    )
    path = f"/entities/{entity['id']}/records"
    assert viewer.get(path).status_code == 200
    assert viewer.get(f"{path}/{rec['id']}").status_code == 200
    for r in (
        viewer.post(path, json={"data": {"name": "x"}}),
        viewer.patch(f"{path}/{rec['id']}", json={"data": {"name": "x"}}),
        viewer.delete(f"{path}/{rec['id']}"),
    ):
        assert r.status_code == 403, r.text
    outsider = studio.member("owner")
    for r in (
        outsider.get(path),
        outsider.get(f"{path}/{rec['id']}"),
        outsider.patch(f"{path}/{rec['id']}", json={"data": {"name": "x"}}),
        outsider.delete(f"{path}/{rec['id']}"),
        outsider.post(path, json={"data": {"name": "x"}}),
    ):
        assert r.status_code == 404
    # A record id under another entity is not found either.
    other = new_entity(owner, project["id"], "other", [{"name": "name", "type": "string"}])
    assert owner.get(f"/entities/{other['id']}/records/{rec['id']}").status_code == 404
    # Token flow for writes (no CSRF needed).
    token = studio.with_token(owner)
    assert token.post(path, json={"data": {"name": "Tok"}}).status_code == 201
    assert owner.post(path, json={"data": {"name": "x"}}, csrf=False).status_code == 403


def test_audit_redacts_phi(owner: Client) -> None:
    project = new_project(owner)
    entity = new_entity(owner, project["id"])
    rec = add(owner, entity["id"], name="Ann", mrn="MRN-00482913")
    owner.patch(f"/entities/{entity['id']}/records/{rec['id']}", json={"data": {"mrn": "MRN-2"}})
    with connection():
        tenant = Tenant.get_by_id(owner.account.org_id)
        entries, _ = audit.query(tenant, None, "record", rec["id"], None, 10)
    assert [e.action for e in entries] == ["record.updated", "record.created"]
    assert entries[0].metadata["before"]["mrn"] == "[REDACTED]"
    assert entries[0].metadata["after"] == {"name": "Ann", "mrn": "[REDACTED]", "status": "open"}
    assert "MRN-" not in json.dumps([e.metadata for e in entries])


def register_hook(server: str, org: str, app_id: str, url: str, events: list[str]) -> str:
    """An endpoint registered through the HASP AI API of the same org; its secret."""
    with connection():
        tenant = keys.find_tenant(SURFACE, org)
        _, key = keys.create_key(tenant, new_secret, name="hooks", scopes=list(SCOPES))
    body = {"app_id": app_id, "url": url, "events": events}
    r = httpx.post(
        f"{server}/hasp-ai/v1/webhooks", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 201, r.text
    return r.json()["data"]["secret"]


def test_record_update_is_delivered_signed_to_the_apps_endpoint(
    server: str, owner: Client, receiver: Receiver, consumer
) -> None:
    project = new_project(owner)
    entity = new_entity(owner, project["id"], fields=PATIENT, app_id="app_intake")
    events = ["record.created", "record.updated", "record.deleted", "schema.updated"]
    secret = register_hook(server, owner.account.org, "app_intake", receiver.url, events)
    register_hook(server, owner.account.org, "app_other", receiver.url + "?other", events)
    rec = add(owner, entity["id"], name="Ann", mrn="MRN-00482913")
    path = f"/entities/{entity['id']}/records/{rec['id']}"
    owner.patch(path, json={"data": {"age": 41}})
    got = receiver.events(timeout=15.0, want=2)
    time.sleep(0.3)  # nothing else arrives (the other app's endpoint gets nothing)
    assert len(receiver.received) == 2
    bodies = {json.loads(d["body"])["event"]: d for d in got}
    assert set(bodies) == {"record.created", "record.updated"}
    delivery = bodies["record.updated"]
    headers, raw = delivery["headers"], delivery["body"]
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["X-Hasp-Signature-256"] == f"sha256={expected}"
    assert headers["User-Agent"] == "Hasp-Webhook/1.0" and headers["X-Hasp-Webhook-Id"]
    payload = json.loads(raw)
    assert set(payload) == {"id", "event", "app_id", "entity_key", "timestamp", "data"}
    assert payload["app_id"] == "app_intake" and payload["entity_key"] == "patient"
    data = payload["data"]
    assert data["record_id"] == rec["id"] and data["version"] == 2 and data["changed"] == ["age"]
    assert data["record"]["age"] == 41 and data["record"]["mrn"] == "[REDACTED]"
    assert data["before"].get("age") is None
    assert b"00482913" not in raw
    # A schema change is announced as schema.updated.
    owner.patch(f"/entities/{entity['id']}", json={"fields": PATIENT + [
        {"name": "ward", "type": "string"}]})  # fmt: skip
    got = receiver.events(timeout=15.0, want=3)
    assert json.loads(got[2]["body"])["event"] == "schema.updated"
    assert json.loads(got[2]["body"])["data"]["schema_version"] == 2


def test_project_id_is_the_default_app(server: str, owner: Client, receiver, consumer) -> None:
    project = new_project(owner)
    entity = new_entity(owner, project["id"])
    register_hook(server, owner.account.org, project["id"], receiver.url, ["record.deleted"])
    rec = add(owner, entity["id"], name="Ann")
    owner.delete(f"/entities/{entity['id']}/records/{rec['id']}")
    got = receiver.events(timeout=15.0, want=1)
    assert [json.loads(d["body"])["event"] for d in got] == ["record.deleted"]
    assert json.loads(got[0]["body"])["data"]["record"]["name"] == "Ann"
