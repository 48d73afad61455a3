"""Profiles over HTTP: create, lookups by id and by identifier, update, delete (a job), and
`resolve_user`, the run path's get-or-create."""

from __future__ import annotations

import json
import threading
import time

import pytest

from agentyard.core.store import connection
from agentyard.harnesslayer import access_groups, profiles
from agentyard.harnesslayer.models import App, Profile
from agentyard.harnesslayer.people_models import RunUsage
from tests.harnesslayer.people_helpers import (
    error,
    group,
    running_consumer,
    serving_receiver,
    webhook,
)

LIMIT = {"amount": 3, "interval": "monthly"}


@pytest.fixture(scope="module")
def receiver():
    with serving_receiver() as r:
        yield r


@pytest.fixture(scope="module")
def consumer(app):
    with running_consumer():
        yield


def create(ws, app_id: str, identifier: str, **body):
    payload = {"appId": app_id, "identifier": identifier, **body}
    return ws.http.post("/v1/profile/create", headers=ws.headers, json=payload)


def made(ws, app_id: str, identifier: str, **body) -> dict:
    r = create(ws, app_id, identifier, **body)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def test_create_returns_every_documented_field(ws):
    app = ws.app(limit=LIMIT)
    prof = made(ws, app["slug"], "user@example.com", metadata={"plan": "pro", "n": [1, 2]})
    assert prof["id"].startswith("prof-") and prof["appId"] == app["id"]
    assert prof["identifier"] == "user@example.com"
    assert prof["accessGroupId"] == app["defaultAccessGroupId"]
    assert prof["metadata"] == {"plan": "pro", "n": [1, 2]}
    assert prof["headStateId"] is None
    assert prof["createdAt"].endswith("Z") and prof["createdAt"] == prof["updatedAt"]
    bare = made(ws, ws.app()["id"], "no-default")
    assert bare["accessGroupId"] is None and bare["metadata"] is None


def test_access_group_must_belong_to_the_app(ws):
    app, other_app = ws.app(limit=LIMIT), ws.app()
    pro = group(ws, app["id"], name="Pro", limit=9, limitReset="daily")
    assert made(ws, app["id"], "p1", accessGroupId=pro["id"])["accessGroupId"] == pro["id"]
    error(create(ws, other_app["id"], "p2", accessGroupId=pro["id"]), 404, "not_found")
    error(create(ws, app["id"], "p3", accessGroupId="ag-nope"), 404, "not_found")
    error(create(ws, "no-such-app", "p4"), 404, "not_found")


def test_identifiers_are_unique_in_the_app_unless_return_if_exist(ws):
    app = ws.app()
    first = made(ws, app["id"], "kim", metadata={"v": 1})
    error(create(ws, app["id"], "kim"), 409, "conflict")
    again = create(ws, app["id"], "kim", returnIfExist=True, metadata={"v": 2})
    assert again.status_code == 200 and again.json()["data"] == first
    # Another app may use the same identifier.
    assert made(ws, ws.app()["id"], "kim")["id"] != first["id"]


@pytest.mark.parametrize(
    "changes",
    [
        {"identifier": ""},
        {"identifier": "a/b"},
        {"identifier": "tab\there"},
        {"identifier": "x" * 257},
        {"metadata": [1, 2]},
        {"metadata": "text"},
        {"metadata": {"blob": "x" * (16 * 1024)}},
        {"accessGroupId": ""},
        {"returnIfExist": "yes"},
        {"extra": 1},
    ],
)
def test_create_refuses_bad_values(ws, changes):
    app = ws.app()
    body = {"appId": app["id"], "identifier": "ok", **changes}
    r = ws.http.post("/v1/profile/create", headers=ws.headers, json=body)
    error(r, 400, "bad_request")


def test_metadata_up_to_16_kib_is_accepted(ws):
    app = ws.app()
    filler = "x" * (16 * 1024 - len(json.dumps({"blob": ""}, separators=(",", ":"))))
    prof = made(ws, app["id"], "big", metadata={"blob": filler})
    assert len(prof["metadata"]["blob"]) == len(filler)


def test_lookup_by_display_id_or_by_identifier_with_app_id(ws):
    app, other_app = ws.app(), ws.app()
    prof = made(ws, app["id"], "user 1@example.com")
    twin = made(ws, other_app["id"], "user 1@example.com")
    by_id = ws.http.get(f"/v1/profile/{prof['id']}", headers=ws.headers)
    assert by_id.status_code == 200 and by_id.json()["data"] == prof
    for ref in (app["id"], app["slug"]):
        r = ws.http.get("/v1/profile/user 1@example.com", headers=ws.headers, params={"appId": ref})
        assert r.status_code == 200 and r.json()["data"] == prof
    r = ws.http.get(
        "/v1/profile/user 1@example.com", headers=ws.headers, params={"appId": other_app["id"]}
    )
    assert r.json()["data"] == twin
    # With appId, a display id of that app's profile works too; another app's is 404.
    with_app = ws.http.get(
        f"/v1/profile/{prof['id']}", headers=ws.headers, params={"appId": app["id"]}
    )
    assert with_app.json()["data"] == prof
    r = ws.http.get(
        f"/v1/profile/{prof['id']}", headers=ws.headers, params={"appId": other_app["id"]}
    )
    error(r, 404, "not_found")
    # An identifier alone (no appId) is not a display id.
    error(ws.http.get("/v1/profile/user 1@example.com", headers=ws.headers), 404, "not_found")
    r = ws.http.get(f"/v1/profile/{prof['id']}", headers=ws.headers, params={"appId": "nope"})
    error(r, 404, "not_found")
    r = ws.http.get(f"/v1/profile/{prof['id']}", headers=ws.headers, params={"other": "x"})
    error(r, 400, "bad_request")


def test_identifier_lookup_wins_over_display_id(ws):
    app = ws.app()
    prof = made(ws, app["id"], "first")
    shadow = made(ws, app["id"], prof["id"])  # identifier equal to the other's display id
    r = ws.http.get(f"/v1/profile/{prof['id']}", headers=ws.headers, params={"appId": app["id"]})
    assert r.json()["data"]["id"] == shadow["id"]
    assert ws.http.get(f"/v1/profile/{prof['id']}", headers=ws.headers).json()["data"] == prof


def test_list_is_newest_first_and_paged(ws):
    app = ws.app()
    items = [made(ws, app["id"], f"u{i}") for i in range(5)]
    r = ws.http.get(
        "/v1/profile/list", headers=ws.headers, params={"appId": app["slug"], "pageSize": 2}
    )
    page = r.json()["data"]
    assert (page["page"], page["pageSize"], page["total"]) == (1, 2, 5)
    assert [p["id"] for p in page["items"]] == [items[4]["id"], items[3]["id"]]
    last = ws.http.get(
        "/v1/profile/list",
        headers=ws.headers,
        params={"appId": app["id"], "pageSize": 2, "page": 3},
    ).json()["data"]
    assert [p["id"] for p in last["items"]] == [items[0]["id"]]
    error(ws.http.get("/v1/profile/list", headers=ws.headers), 400, "bad_request")
    r = ws.http.get("/v1/profile/list", headers=ws.headers, params={"appId": "nope"})
    error(r, 404, "not_found")


def test_update_identifier_group_and_metadata(ws):
    app = ws.app(limit=LIMIT)
    pro = group(ws, app["id"], name="Pro", limit=9, limitReset="daily")
    prof = made(ws, app["id"], "lee", metadata={"a": 1})
    made(ws, app["id"], "taken")
    url = f"/v1/profile/{prof['id']}"
    r = ws.http.patch(
        url, headers=ws.headers, json={"identifier": "lee2", "accessGroupId": pro["id"]}
    )
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert (data["identifier"], data["accessGroupId"], data["metadata"]) == (
        "lee2",
        pro["id"],
        {"a": 1},
    )
    assert data["updatedAt"] >= prof["updatedAt"] and data["createdAt"] == prof["createdAt"]
    # Metadata is replaced as a whole; null clears it; null accessGroupId leaves no group.
    data = ws.http.patch(url, headers=ws.headers, json={"metadata": {"b": 2}}).json()["data"]
    assert data["metadata"] == {"b": 2}
    data = ws.http.patch(
        url, headers=ws.headers, json={"metadata": None, "accessGroupId": None}
    ).json()["data"]
    assert data["metadata"] is None and data["accessGroupId"] is None
    assert ws.http.get(url, headers=ws.headers).json()["data"] == data
    # The old identifier is free, the new one resolves.
    r = ws.http.get("/v1/profile/lee2", headers=ws.headers, params={"appId": app["id"]})
    assert r.json()["data"]["id"] == prof["id"]
    assert made(ws, app["id"], "lee")["id"] != prof["id"]

    error(ws.http.patch(url, headers=ws.headers, json={"identifier": "taken"}), 409, "conflict")
    same = ws.http.patch(url, headers=ws.headers, json={"identifier": "lee2"})
    assert same.status_code == 200
    other_app_group = group(ws, ws.app()["id"])
    r = ws.http.patch(url, headers=ws.headers, json={"accessGroupId": other_app_group["id"]})
    error(r, 404, "not_found")
    for body in (
        {},
        {"identifier": None},
        {"identifier": "a/b"},
        {"metadata": [1]},
        {"metadata": {"x": "y" * 17000}},
        {"appId": app["id"]},
        {"headStateId": "state-1"},
    ):
        error(ws.http.patch(url, headers=ws.headers, json=body), 400, "bad_request")
    r = ws.http.patch(url, headers=ws.headers, content=b"{bad json")
    error(r, 400, "bad_request")


def test_delete_starts_a_job_and_frees_the_identifier(ws, consumer):
    app = ws.app(limit=LIMIT)
    prof = made(ws, app["id"], "mia")
    with connection():
        access_groups.check_and_count_run(prof["id"])
    cleaned: list[str] = []
    profiles.register_cleanup(cleaned.append)
    try:
        r = ws.http.delete(f"/v1/profile/{prof['id']}", headers=ws.headers)
        assert r.status_code == 202 and r.json() == {
            "data": {"id": prof["id"], "status": "deleting"}
        }
        error(ws.http.get(f"/v1/profile/{prof['id']}", headers=ws.headers), 404, "not_found")
        r = ws.http.get("/v1/profile/mia", headers=ws.headers, params={"appId": app["id"]})
        error(r, 404, "not_found")
        error(ws.http.delete(f"/v1/profile/{prof['id']}", headers=ws.headers), 404, "not_found")
        r = ws.http.patch(f"/v1/profile/{prof['id']}", headers=ws.headers, json={"metadata": None})
        error(r, 404, "not_found")
        listed = ws.http.get("/v1/profile/list", headers=ws.headers, params={"appId": app["id"]})
        assert listed.json()["data"]["total"] == 0
        again = made(ws, app["id"], "mia")
        assert again["id"] != prof["id"]

        deadline = time.monotonic() + 10
        while True:
            with connection():
                gone = Profile.get_or_none(Profile.id == prof["id"]) is None
                usage_gone = RunUsage.get_or_none(RunUsage.profile == prof["id"]) is None
            if gone or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert gone and usage_gone and cleaned == [prof["id"]]
    finally:
        profiles._cleanups.remove(cleaned.append)


def test_other_organizations_profiles_are_404(ws, other_ws):
    app = ws.app()
    prof = made(ws, app["id"], "nia")
    url = f"/v1/profile/{prof['id']}"
    for r in (
        other_ws.http.get(url, headers=other_ws.headers),
        other_ws.http.get("/v1/profile/nia", headers=other_ws.headers, params={"appId": app["id"]}),
        other_ws.http.patch(url, headers=other_ws.headers, json={"metadata": None}),
        other_ws.http.delete(url, headers=other_ws.headers),
        other_ws.http.get(
            "/v1/profile/list", headers=other_ws.headers, params={"appId": app["id"]}
        ),
        create(other_ws, app["id"], "nia2"),
    ):
        error(r, 404, "not_found")
    assert ws.http.get(url, headers=ws.headers).status_code == 200
    # A group of another organization cannot be assigned either.
    foreign = group(other_ws, other_ws.app()["id"])
    r = ws.http.patch(url, headers=ws.headers, json={"accessGroupId": foreign["id"]})
    error(r, 404, "not_found")


def test_profiles_of_a_deleted_app_are_404(ws):
    app = ws.app()
    prof = made(ws, app["id"], "olga")
    assert ws.http.delete(f"/v1/app/{app['id']}", headers=ws.headers).status_code == 202
    error(ws.http.get(f"/v1/profile/{prof['id']}", headers=ws.headers), 404, "not_found")


# --- resolve_user ----------------------------------------------------------------------------


def test_resolve_user_creates_once_in_the_default_group_and_fires_once(ws, receiver, consumer):
    app = ws.app(limit=LIMIT)
    url = receiver.url()
    webhook(ws, app["id"], url)
    with connection():
        row = App.get_by_id(app["id"])
        existing = made(ws, app["id"], "known")
        assert profiles.resolve_user(row, "known").id == existing["id"]

    results: list[str] = []
    start = threading.Barrier(8)

    def resolve() -> None:
        start.wait()
        with connection():
            results.append(profiles.resolve_user(row, "+15551234567").id)

    threads = [threading.Thread(target=resolve) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 8 and len(set(results)) == 1
    got = ws.http.get(f"/v1/profile/{results[0]}", headers=ws.headers).json()["data"]
    assert got["identifier"] == "+15551234567"
    assert got["accessGroupId"] == app["defaultAccessGroupId"] and got["metadata"] is None

    hits = receiver.wait(url, want=2)
    time.sleep(0.3)  # no further deliveries arrive
    created = sorted(json.loads(h.body)["data"]["identifier"] for h in receiver.hits_for(url))
    assert created == ["+15551234567", "known"]
    assert len(hits) == 2
