"""Access groups over HTTP, and the run limits they put on profiles (`check_and_count_run`)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from agentyard.core.errors import ApiError
from agentyard.core.store import connection
from agentyard.harnesslayer import access_groups
from agentyard.harnesslayer.models import Profile
from tests.harnesslayer.people_helpers import error, group, profile

LIMIT = {"amount": 3, "interval": "daily", "message": "Daily quota used up"}


def test_create_returns_every_documented_field(ws):
    app = ws.app()
    made = group(ws, app["slug"], name="Free", limit=10, limitReset="daily")
    assert made["id"].startswith("ag-") and made["appId"] == app["id"]
    assert (made["name"], made["limit"], made["limitReset"]) == ("Free", 10, "daily")
    assert made["limitMessage"] is None and made["isDefault"] is False
    assert made["createdAt"].endswith("Z") and made["createdAt"] == made["updatedAt"]
    with_message = group(ws, app["id"], limitMessage="Upgrade to continue", limitReset="yearly")
    assert with_message["limitMessage"] == "Upgrade to continue"
    got = ws.http.get(f"/v1/access_group/{made['id']}", headers=ws.headers)
    assert got.status_code == 200 and got.json()["data"] == made


@pytest.mark.parametrize(
    "changes",
    [
        {"limit": 0},
        {"limit": -1},
        {"limit": 1.5},
        {"limit": "5"},
        {"limit": True},
        {"limit": 1_000_000_001},
        {"limit": 2**70},
        {"limit": None},
        {"limitReset": "weekly"},
        {"limitReset": "Daily"},
        {"limitMessage": ""},
        {"name": ""},
        {"color": "red"},
    ],
)
def test_create_refuses_bad_values(ws, changes):
    app = ws.app()
    body = {"appId": app["id"], "name": "G", "limit": 5, "limitReset": "daily", **changes}
    r = ws.http.post("/v1/access_group/create", headers=ws.headers, json=body)
    error(r, 400, "bad_request")


@pytest.mark.parametrize("missing", ["appId", "name", "limit", "limitReset"])
def test_create_requires_its_fields(ws, missing):
    app = ws.app()
    body = {"appId": app["id"], "name": "G", "limit": 5, "limitReset": "daily"}
    del body[missing]
    error(
        ws.http.post("/v1/access_group/create", headers=ws.headers, json=body), 400, "bad_request"
    )


def test_list_holds_the_default_group_newest_first_and_pages(ws):
    app = ws.app(limit=LIMIT)
    made = [group(ws, app["id"], name=f"G{i}") for i in range(3)]
    r = ws.http.get("/v1/access_group/list", headers=ws.headers, params={"appId": app["slug"]})
    assert r.status_code == 200
    page = r.json()["data"]
    assert (page["page"], page["pageSize"], page["total"]) == (1, 10, 4)
    ids = [g["id"] for g in page["items"]]
    assert ids == [g["id"] for g in reversed(made)] + [app["defaultAccessGroupId"]]
    default = page["items"][-1]
    assert default["isDefault"] is True and default["name"] == "Default"
    assert (default["limit"], default["limitReset"]) == (3, "daily")
    assert default["limitMessage"] == "Daily quota used up"
    second = ws.http.get(
        "/v1/access_group/list",
        headers=ws.headers,
        params={"appId": app["id"], "page": 2, "pageSize": 3},
    ).json()["data"]
    assert [g["id"] for g in second["items"]] == [app["defaultAccessGroupId"]]
    past = ws.http.get(
        "/v1/access_group/list", headers=ws.headers, params={"appId": app["id"], "page": 9}
    ).json()["data"]
    assert past["items"] == [] and past["total"] == 4
    for params in ({}, {"appId": app["id"], "pageSize": 101}, {"appId": app["id"], "page": 0}):
        r = ws.http.get("/v1/access_group/list", headers=ws.headers, params=params)
        error(r, 400, "bad_request")
    missing = ws.http.get("/v1/access_group/list", headers=ws.headers, params={"appId": "nope"})
    error(missing, 404, "not_found")


def test_update_is_partial_and_null_clears_the_message(ws):
    app = ws.app()
    made = group(ws, app["id"], limitMessage="Stop")
    url = f"/v1/access_group/{made['id']}"
    r = ws.http.patch(url, headers=ws.headers, json={"limit": 7})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert (data["limit"], data["name"], data["limitMessage"]) == (7, "Pro", "Stop")
    assert data["updatedAt"] >= made["updatedAt"] and data["createdAt"] == made["createdAt"]
    data = ws.http.patch(
        url, headers=ws.headers, json={"name": "Team", "limitReset": "yearly", "limitMessage": None}
    ).json()["data"]
    assert (data["name"], data["limitReset"], data["limitMessage"]) == ("Team", "yearly", None)
    assert ws.http.get(url, headers=ws.headers).json()["data"] == data
    for body in ({}, {"limit": 0}, {"limit": None}, {"limitReset": "hourly"}, {"isDefault": True}):
        error(ws.http.patch(url, headers=ws.headers, json=body), 400, "bad_request")


def test_default_group_cannot_be_deleted_and_profiles_move_to_it(ws):
    app = ws.app(limit=LIMIT)
    default_id = app["defaultAccessGroupId"]
    r = ws.http.delete(f"/v1/access_group/{default_id}", headers=ws.headers)
    error(r, 409, "conflict")
    assert ws.http.get(f"/v1/access_group/{default_id}", headers=ws.headers).status_code == 200

    pro = group(ws, app["id"])
    member = profile(ws, app["id"], "alice", accessGroupId=pro["id"])
    other = profile(ws, app["id"], "bob")
    assert member["accessGroupId"] == pro["id"] and other["accessGroupId"] == default_id
    r = ws.http.delete(f"/v1/access_group/{pro['id']}", headers=ws.headers)
    assert r.status_code == 200 and r.json() == {"data": {"id": pro["id"], "deleted": True}}
    error(ws.http.get(f"/v1/access_group/{pro['id']}", headers=ws.headers), 404, "not_found")
    error(ws.http.delete(f"/v1/access_group/{pro['id']}", headers=ws.headers), 404, "not_found")
    moved = ws.http.get(f"/v1/profile/{member['id']}", headers=ws.headers).json()["data"]
    assert moved["accessGroupId"] == default_id and moved["updatedAt"] >= member["updatedAt"]


def test_deleting_a_group_of_an_app_without_default_leaves_profiles_unlimited(ws):
    app = ws.app()
    assert app["defaultAccessGroupId"] is None
    pro = group(ws, app["id"])
    member = profile(ws, app["id"], "carol", accessGroupId=pro["id"])
    assert ws.http.delete(f"/v1/access_group/{pro['id']}", headers=ws.headers).status_code == 200
    got = ws.http.get(f"/v1/profile/{member['id']}", headers=ws.headers).json()["data"]
    assert got["accessGroupId"] is None


def test_other_organizations_groups_are_404(ws, other_ws):
    app = ws.app(limit=LIMIT)
    made = group(ws, app["id"])
    url = f"/v1/access_group/{made['id']}"
    for r in (
        other_ws.http.get(url, headers=other_ws.headers),
        other_ws.http.patch(url, headers=other_ws.headers, json={"limit": 1}),
        other_ws.http.delete(url, headers=other_ws.headers),
        other_ws.http.get(
            "/v1/access_group/list", headers=other_ws.headers, params={"appId": app["id"]}
        ),
        other_ws.http.post(
            "/v1/access_group/create",
            headers=other_ws.headers,
            json={"appId": app["id"], "name": "x", "limit": 1, "limitReset": "daily"},
        ),
    ):
        error(r, 404, "not_found")
    assert ws.http.get(url, headers=ws.headers).json()["data"]["limit"] == 5
    unauthenticated = ws.http.get(url)
    error(unauthenticated, 401, "unauthorized")


def test_groups_of_a_deleted_app_are_404(ws):
    app = ws.app(limit=LIMIT)
    assert ws.http.delete(f"/v1/app/{app['id']}", headers=ws.headers).status_code == 202
    r = ws.http.get(f"/v1/access_group/{app['defaultAccessGroupId']}", headers=ws.headers)
    error(r, 404, "not_found")


# --- counting runs ---------------------------------------------------------------------------


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def count(profile_id: str, when: dt.datetime) -> None:
    with connection():
        access_groups.check_and_count_run(profile_id, now=when)


def refused(profile_id: str, when: dt.datetime) -> ApiError:
    with pytest.raises(ApiError) as caught:
        count(profile_id, when)
    return caught.value


def usage(profile_id: str, when: dt.datetime) -> dict | None:
    with connection():
        return access_groups.usage(profile_id, now=when)


def test_runs_past_the_limit_are_refused_with_the_groups_message(ws):
    app = ws.app(limit={"amount": 2, "interval": "daily", "message": "Come back tomorrow"})
    prof = profile(ws, app["id"], "dana")
    noon = at("2031-03-14T12:00:00")
    assert usage(prof["id"], noon)["used"] == 0
    count(prof["id"], noon)
    count(prof["id"], noon)
    err = refused(prof["id"], noon)
    assert (err.status, err.code, err.message) == (403, "limit_reached", "Come back tomorrow")
    assert err.details == {
        "accessGroupId": app["defaultAccessGroupId"],
        "limit": 2,
        "limitReset": "daily",
        "resetsAt": "2031-03-15T00:00:00.000Z",
    }
    assert usage(prof["id"], noon) == {
        "accessGroupId": app["defaultAccessGroupId"],
        "limit": 2,
        "limitReset": "daily",
        "used": 2,
        "remaining": 0,
        "periodStart": "2031-03-14T00:00:00.000Z",
        "resetsAt": "2031-03-15T00:00:00.000Z",
    }
    # A refused run is not counted; the next UTC day starts afresh.
    assert usage(prof["id"], at("2031-03-14T23:59:59.999"))["used"] == 2
    count(prof["id"], at("2031-03-15T00:00:00"))
    assert usage(prof["id"], at("2031-03-15T08:00:00"))["used"] == 1


def test_a_group_without_message_refuses_with_a_default_sentence(ws):
    app = ws.app()
    made = group(ws, app["id"], limit=1, limitReset="yearly")
    prof = profile(ws, app["id"], "erin", accessGroupId=made["id"])
    count(prof["id"], at("2031-06-01T00:00:00"))
    err = refused(prof["id"], at("2031-12-31T23:59:59"))
    assert err.code == "limit_reached" and err.message == access_groups.DEFAULT_LIMIT_MESSAGE
    assert err.details["resetsAt"] == "2032-01-01T00:00:00.000Z"
    count(prof["id"], at("2032-01-01T00:00:00"))


def test_monthly_limits_reset_on_the_first_of_the_month(ws):
    app = ws.app()
    made = group(ws, app["id"], limit=2, limitReset="monthly", limitMessage="Monthly cap")
    prof = profile(ws, app["id"], "frank", accessGroupId=made["id"])
    count(prof["id"], at("2032-02-01T00:00:00"))
    count(prof["id"], at("2032-02-15T10:00:00"))
    err = refused(prof["id"], at("2032-02-29T23:59:59"))  # a leap day, same month
    assert err.message == "Monthly cap" and err.details["resetsAt"] == "2032-03-01T00:00:00.000Z"
    count(prof["id"], at("2032-03-01T00:00:00"))
    assert usage(prof["id"], at("2032-03-02T00:00:00"))["used"] == 1
    # December rolls into January of the next year.
    count(prof["id"], at("2032-12-31T00:00:00"))
    count(prof["id"], at("2032-12-31T01:00:00"))
    assert refused(prof["id"], at("2032-12-31T02:00:00")).details["resetsAt"] == (
        "2033-01-01T00:00:00.000Z"
    )


def test_profiles_without_a_group_are_unlimited(ws):
    app = ws.app()
    prof = profile(ws, app["id"], "gina")
    assert prof["accessGroupId"] is None
    for _ in range(5):
        count(prof["id"], at("2031-01-01T00:00:00"))
    assert usage(prof["id"], at("2031-01-01T00:00:00")) is None


def test_changes_keep_the_runs_counted_in_the_current_period(ws):
    app = ws.app()
    made = group(ws, app["id"], limit=2, limitReset="daily")
    prof = profile(ws, app["id"], "hugo", accessGroupId=made["id"])
    day1, day2 = at("2031-05-01T09:00:00"), at("2031-05-02T09:00:00")
    count(prof["id"], day1)
    count(prof["id"], day1)
    refused(prof["id"], day1)
    count(prof["id"], day2)
    url = f"/v1/access_group/{made['id']}"
    # A new limitReset applies from the current period on: 3 runs so far this month.
    ws.http.patch(url, headers=ws.headers, json={"limitReset": "monthly", "limit": 4})
    assert usage(prof["id"], day2)["used"] == 3
    count(prof["id"], day2)
    assert refused(prof["id"], day2).details["limitReset"] == "monthly"
    # Raising the limit keeps what was counted.
    ws.http.patch(url, headers=ws.headers, json={"limit": 5})
    count(prof["id"], day2)
    refused(prof["id"], day2)
    # Moving the profile to another group keeps its count too (counted per profile).
    other = group(ws, app["id"], limit=6, limitReset="monthly")
    r = ws.http.patch(
        f"/v1/profile/{prof['id']}", headers=ws.headers, json={"accessGroupId": other["id"]}
    )
    assert r.status_code == 200
    assert usage(prof["id"], day2) | {"periodStart": None} == {
        "accessGroupId": other["id"],
        "limit": 6,
        "limitReset": "monthly",
        "used": 5,
        "remaining": 1,
        "periodStart": None,
        "resetsAt": "2031-06-01T00:00:00.000Z",
    }


def test_concurrent_runs_never_exceed_the_limit(ws):
    app = ws.app()
    made = group(ws, app["id"], limit=5, limitReset="daily")
    prof = profile(ws, app["id"], "ivy", accessGroupId=made["id"])
    when = at("2031-07-04T12:00:00")
    outcomes: list[str] = []
    start = threading.Barrier(12)

    def run() -> None:
        start.wait()
        try:
            count(prof["id"], when)
            outcomes.append("ok")
        except ApiError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=run) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["limit_reached"] * 7 + ["ok"] * 5
    assert usage(prof["id"], when)["used"] == 5


def test_check_and_count_run_accepts_a_profile_row(ws):
    app = ws.app(limit={"amount": 1, "interval": "daily"})
    prof = profile(ws, app["id"], "jade")
    with connection():
        row = Profile.get_by_id(prof["id"])
        access_groups.check_and_count_run(row, now=at("2031-01-01T00:00:00"))
        with pytest.raises(ApiError):
            access_groups.check_and_count_run(row, now=at("2031-01-01T00:00:01"))
        assert access_groups.usage(row, now=at("2031-01-01T00:00:02"))["used"] == 1
