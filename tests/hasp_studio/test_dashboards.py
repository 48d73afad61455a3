"""The dashboards over HTTP, checked against runs seeded in three projects: real runs on the
`hasp-studio` engine (an `ai_chat` step, and a step that fails when asked), then moved in time
in the store (start and finish) so days, windows and durations are known exactly."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pytest

from agentyard.core import clock, ids, jobs
from agentyard.core.keys import Tenant
from agentyard.core.store import connection, write
from agentyard.flows.models import Run, StepRecord
from agentyard.hasp.ai import credits
from agentyard.hasp.studio import contract_versions, workflow_runs
from agentyard.hasp.studio.models import Project
from agentyard.hasp.studio.release_models import StudioRelease
from agentyard.hasp.studio.workflow_models import StudioRun, StudioWorkflow
from tests.hasp_studio.conftest import Client, Studio, new_project
from tests.hasp_studio.publishing import publish
from tests.hasp_studio.test_triggers import allow_phi, wait_run, workflow

ASK = {
    "trigger": {"type": "manual"},
    "steps": [
        {"id": "ask", "type": "ai_chat", "prompt": "Summarise {{ input.topic }}"},
        {
            "id": "boom",
            "type": "record_query",
            "entity": "no_such_entity",
            "when": {"equals": ["@input.fail", True]},
        },
    ],
    "output": "@ask",
}


@pytest.fixture
def consumer(app):
    jobs.start_consumer(workers=2, poll_interval=0.05, scheduler_interval=0.05)
    yield
    jobs.stop_consumer()


def midnight(days_ago: int = 0) -> dt.datetime:
    today = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    return today - dt.timedelta(days=days_ago)


def run(wf_id: str, *, fail: bool = False, sandbox: bool = False) -> Run:
    """Start a run of the workflow's draft and wait for it to finish."""
    with connection():
        wf = StudioWorkflow.get_by_id(wf_id)
        started = workflow_runs.start_run(
            wf, {"topic": "intake", "fail": fail}, {"type": "manual"}, sandbox=sandbox
        )
    done = wait_run(started.id, timeout=60)
    assert done.status == ("failed" if fail else "completed"), done.error
    return done


def move(run_id: str, start: dt.datetime, duration_ms: int) -> None:
    """Set when the run started and finished."""
    with connection(), write():
        Run.update(
            created_at=start, finished_at=start + dt.timedelta(milliseconds=duration_ms)
        ).where(Run.id == run_id).execute()
        StudioRun.update(created_at=start).where(StudioRun.run_id == run_id).execute()


def tokens_of(run_ids: list[str]) -> tuple[int, int, int]:
    """(ai calls, input tokens, output tokens) of the runs' completed ai_chat steps."""
    with connection():
        steps = list(
            StepRecord.select().where(
                StepRecord.run.in_(run_ids)
                & (StepRecord.type == "ai_chat")
                & (StepRecord.status == "completed")
            )
        )
    return (
        len(steps),
        sum(s.output["usage"]["input_tokens"] for s in steps),
        sum(s.output["usage"]["output_tokens"] for s in steps),
    )


def nearest_rank(values: list[int], pct: float) -> int:
    return sorted(values)[max(1, math.ceil(pct / 100 * len(values))) - 1]


@dataclass
class Seeded:
    owner: Client
    org_id: str
    a: dict
    b: dict
    c: dict
    wf_a: dict
    wf_b: dict
    wf_c: dict
    runs_a: list[str]
    runs_b: list[str]
    runs_c: list[str]
    sandbox: str
    failure: dict


@pytest.fixture
def seeded(studio: Studio, consumer) -> Seeded:
    """Project A: 3 completed runs (one 3 days ago) then a failed one; B: a failed run today
    and one 10 days ago, published; C: one completed run, a sandbox run, a requested release.
    Durations: A 1000, 2000, 3000 (3 days ago), 4000 ms (failed)."""
    owner = studio.member("owner")
    allow_phi(owner)
    a, b, c = (new_project(owner, name=n) for n in ("Alpha", "Bravo", "Charlie"))
    wf_a = workflow(owner, a["id"], ASK, name="Ask A")
    wf_b = workflow(owner, b["id"], ASK, name="Ask B")
    wf_c = workflow(owner, c["id"], ASK, name="Ask C")
    runs_a = [run(wf_a["id"]).id for _ in range(3)]
    failed = run(wf_a["id"], fail=True)
    runs_a.append(failed.id)
    for i, (run_id, ms) in enumerate(zip(runs_a, (1000, 2000, 3000, 4000), strict=True)):
        start = (
            midnight(3) + dt.timedelta(hours=1)
            if i == 2
            else midnight() + dt.timedelta(minutes=1, seconds=i)
        )
        move(run_id, start, ms)
    runs_b = [run(wf_b["id"], fail=True).id, run(wf_b["id"], fail=True).id]
    move(runs_b[0], midnight(10) + dt.timedelta(hours=2), 500)
    move(runs_b[1], midnight() + dt.timedelta(minutes=2), 700)
    runs_c = [run(wf_c["id"]).id]
    move(runs_c[0], midnight() + dt.timedelta(minutes=3), 300)
    sandbox = run(wf_c["id"], sandbox=True).id
    publish(b["id"])
    with connection(), write():
        project = Project.get_by_id(c["id"])
        now = clock.now()
        StudioRelease.create(
            id=ids.new_id("rel"), tenant=project.tenant_id, project=project, number=1,
            state="requested", title="first", snapshot=contract_versions.take_snapshot(project),
            requested_by=owner.account.user_id, created_at=now, updated_at=now,
        )  # fmt: skip
    return Seeded(
        owner, owner.account.org_id, a, b, c, wf_a, wf_b, wf_c, runs_a, runs_b, runs_c, sandbox,
        failed.error,
    )  # fmt: skip


def data(r) -> dict | list:
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    return body["data"]


def test_org_overview_counts_the_seeded_runs(seeded: Seeded) -> None:
    with connection():
        org = Tenant.get_by_id(seeded.org_id)
        period = credits.period_of(clock.now())  # a settled HASP AI request of 123 credits
        credits.settle(org, credits.Hold("res_none", period, 0), 123)
    seeded.owner.delete(f"/projects/{seeded.c['id']}")  # archived: still counted, as archived
    overview = data(seeded.owner.get(f"/orgs/{seeded.org_id}/dashboard/overview"))
    assert overview["projects"] == {"total": 3, "live": 2, "archived": 1}
    # 7 days: A 4, B 1 (the other is 10 days old), C 1; the sandbox run never counts.
    assert overview["runs"] == {
        "today": 5,
        "last_7_days": 6,
        "finished_7_days": 6,
        "failed_7_days": 2,
        "failure_rate_7_days": round(2 / 6, 4),
    }
    assert overview["pending_approvals"] == 1
    assert overview["ai_credits"]["used"] == 123 and overview["ai_credits"]["requests"] == 1
    assert overview["ai_credits"]["period_start"].endswith("-01T00:00:00.000Z")


def test_projects_list_has_health_runs_and_releases(seeded: Seeded) -> None:
    listed = data(seeded.owner.get(f"/orgs/{seeded.org_id}/dashboard/projects"))
    by_id = {item["project"]["id"]: item for item in listed}
    assert [i["project"]["id"] for i in listed] == [seeded.c["id"], seeded.b["id"], seeded.a["id"]]
    a, b, c = by_id[seeded.a["id"]], by_id[seeded.b["id"]], by_id[seeded.c["id"]]
    assert a["runs_7_days"] == {"runs": 4, "finished": 4, "failed": 1, "failure_rate": 0.25}
    assert a["health"] == "degraded"  # 25 % failed
    assert b["health"] == "failing" and b["runs_7_days"]["failure_rate"] == 1.0
    assert c["health"] == "healthy" and c["runs_7_days"]["runs"] == 1
    assert a["last_run"]["run_id"] == seeded.runs_a[3] and a["last_run"]["status"] == "failed"
    assert a["last_run"]["error"]["code"] == seeded.failure["code"]
    assert c["last_run"]["run_id"] == seeded.runs_c[0]  # not the newer sandbox run
    assert b["published_release"]["number"] == 1 and b["published_release"]["state"] == "published"
    assert a["published_release"] is None and c["published_release"] is None
    page = seeded.owner.get(f"/orgs/{seeded.org_id}/dashboard/projects", params={"limit": 2})
    assert len(data(page)) == 2 and page.json()["meta"]["has_more"] is True
    rest = seeded.owner.get(
        f"/orgs/{seeded.org_id}/dashboard/projects",
        params={"limit": 2, "cursor": page.json()["meta"]["next_cursor"]},
    )
    assert [i["project"]["id"] for i in data(rest)] == [seeded.a["id"]]


def test_health_rollup(seeded: Seeded) -> None:
    hook = seeded.owner.post(
        f"/projects/{seeded.a['id']}/webhooks",
        json={
            "direction": "outbound",
            "name": "ops",
            "url": "https://hooks.example.invalid/x",
            "events": ["record.created"],
        },
    )
    assert hook.status_code == 201, hook.text
    tested = seeded.owner.post(f"/webhooks/{hook.json()['data']['id']}/test")
    assert tested.status_code == 200 and tested.json()["data"]["status"] == "failed", tested.text
    rollup = data(seeded.owner.get(f"/orgs/{seeded.org_id}/dashboard/health-rollup"))
    by_id = {item["project_id"]: item for item in rollup}
    a, b, c = by_id[seeded.a["id"]], by_id[seeded.b["id"]], by_id[seeded.c["id"]]
    assert [w["workflow_id"] for w in a["failing_workflows"]] == [seeded.wf_a["id"]]
    assert a["failing_workflows"][0]["last_run"]["run_id"] == seeded.runs_a[3]
    assert a["error_rate_7_days"] == 0.25
    assert a["p95_duration_ms_7_days"] == nearest_rank([1000, 2000, 3000, 4000], 95) == 4000
    assert a["webhook_deliveries_7_days"] == {"failed": 1, "succeeded": 0, "pending": 0}
    assert b["failing_workflows"][0]["workflow_id"] == seeded.wf_b["id"]
    assert b["health"] == "failing" and b["p95_duration_ms_7_days"] == 700
    assert c["failing_workflows"] == [] and c["health"] == "healthy"
    assert c["webhook_deliveries_7_days"] == {"failed": 0, "succeeded": 0, "pending": 0}


def test_project_overview(seeded: Seeded) -> None:
    owner = seeded.owner
    assert (
        owner.post(f"/projects/{seeded.a['id']}/apps", json={"name": "Portal"}).status_code == 201
    )
    got = data(owner.get(f"/projects/{seeded.a['id']}/dashboard/overview"))
    assert got["project"]["id"] == seeded.a["id"]
    assert got["counts"] == {
        "apps": 1,
        "workflows": 1,
        "entities": 0,
        "records": 0,
        "webhooks": 0,
        "inbound_webhooks": 0,
        "outbound_webhooks": 0,
    }
    assert got["runs_7_days"] == {"runs": 4, "finished": 4, "failed": 1, "failure_rate": 0.25}
    assert got["published_release"] is None and got["open_release"] is None
    assert got["last_activity_at"] is not None
    b = data(owner.get(f"/projects/{seeded.b['id']}/dashboard/overview"))
    assert b["published_release"]["number"] == 1
    c = data(owner.get(f"/projects/{seeded.c['id']}/dashboard/overview"))
    assert c["open_release"]["state"] == "requested" and c["published_release"] is None


def test_analytics_numbers(seeded: Seeded) -> None:
    got = data(seeded.owner.get(f"/projects/{seeded.a['id']}/dashboard/analytics"))
    today = clock.now().date()
    assert got["until"] == today.isoformat() and got["days"] == 30
    assert got["from"] == (today - dt.timedelta(days=29)).isoformat()
    assert got["runs"] == {"runs": 4, "finished": 4, "failed": 1, "failure_rate": 0.25}
    per_day = {d["date"]: d for d in got["runs_per_day"]}
    assert len(got["runs_per_day"]) == 30 and got["runs_per_day"][-1]["date"] == str(today)
    assert per_day[str(today)] == {"date": str(today), "runs": 3, "failed": 1}
    three = str(today - dt.timedelta(days=3))
    assert per_day[three] == {"date": three, "runs": 1, "failed": 0}
    assert sum(d["runs"] for d in got["runs_per_day"]) == 4
    assert got["duration"] == {"finished": 4, "p50_ms": 2000, "p95_ms": 4000}
    assert got["failure_reasons"] == [
        {"code": seeded.failure["code"], "message": seeded.failure["message"], "count": 1}
    ]
    calls, tokens_in, tokens_out = tokens_of(seeded.runs_a)
    assert calls == 4 and tokens_in > 0 and tokens_out > 0
    assert got["ai_tokens_per_workflow"] == [
        {
            "workflow_id": seeded.wf_a["id"],
            "name": "Ask A",
            "slug": seeded.wf_a["slug"],
            "ai_calls": calls,
            "input_tokens": tokens_in,
            "output_tokens": tokens_out,
        }
    ]
    # B over the 11 days that hold its old run; C without its sandbox run.
    first = str(today - dt.timedelta(days=10))
    b = data(
        seeded.owner.get(
            f"/projects/{seeded.b['id']}/dashboard/analytics",
            params={"from": first, "until": str(today)},
        )
    )
    assert b["days"] == 11 and b["runs"]["failed"] == 2
    assert b["runs_per_day"][0] == {"date": first, "runs": 1, "failed": 1}
    assert b["duration"] == {"finished": 2, "p50_ms": 500, "p95_ms": 700}
    assert b["failure_reasons"][0]["count"] == 2
    assert b["ai_tokens_per_workflow"][0]["input_tokens"] == tokens_of(seeded.runs_b)[1]
    c = data(seeded.owner.get(f"/projects/{seeded.c['id']}/dashboard/analytics"))
    assert c["runs"]["runs"] == 1 and c["ai_tokens_per_workflow"][0]["ai_calls"] == 1
    assert c["failure_reasons"] == [] and c["duration"]["p50_ms"] == 300


def test_analytics_range_is_checked(owner: Client) -> None:
    project = new_project(owner)
    path = f"/projects/{project['id']}/dashboard/analytics"
    for params in (
        {"from": "2026-03-10", "until": "2026-03-01"},
        {"from": "2025-01-01", "until": "2026-01-02"},  # 367 days
        {"from": "2026-13-01"},
        {"until": "yesterday!"},
        {"from": "9999-12-30"},  # its default end is past the calendar
        {"until": "0001-01-05"},  # and its default start before it
    ):
        r = owner.get(path, params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"]["code"] == "VALIDATION_FAILED"
    full = data(owner.get(path, params={"from": "2025-01-01", "until": "2026-01-01"}))
    assert full["days"] == 366 and len(full["runs_per_day"]) == 366
    assert full["runs"]["runs"] == 0 and full["duration"]["p50_ms"] is None
    only_from = data(owner.get(path, params={"from": "2026-02-01"}))
    assert only_from["until"] == "2026-03-02" and only_from["days"] == 30


def test_activity_feed_shows_authoring(owner: Client) -> None:
    project = new_project(owner, name="Feed")
    wf = workflow(owner, project["id"], ASK, name="Triage")
    app = owner.post(f"/projects/{project['id']}/apps", json={"name": "Front desk"})
    assert app.status_code == 201
    feed = data(owner.get(f"/projects/{project['id']}/dashboard/activity"))
    assert [(i["action"], i["entity_id"]) for i in feed] == [
        ("app.created", app.json()["data"]["id"]),
        ("workflow.created", wf["id"]),
        ("project.created", project["id"]),
    ]
    assert all(i["actor"] == owner.account.user_id for i in feed)
    assert feed[1]["summary"] == f'Created workflow "Triage" ({wf["id"]})'
    assert feed[0]["entity_type"] == "app" and feed[0]["at"].endswith("Z")
    first = owner.get(f"/projects/{project['id']}/dashboard/activity", params={"limit": 2})
    assert len(data(first)) == 2 and first.json()["meta"]["has_more"] is True
    cursor = first.json()["meta"]["next_cursor"]
    rest = data(
        owner.get(f"/projects/{project['id']}/dashboard/activity", params={"cursor": cursor})
    )
    assert [i["action"] for i in rest] == ["project.created"]
    other = new_project(owner)  # another project's entries are not in this feed
    assert [
        i["action"] for i in data(owner.get(f"/projects/{other['id']}/dashboard/activity"))
    ] == ["project.created"]


def test_audit_log_filters_and_full_entries(owner: Client, studio: Studio) -> None:
    project = new_project(owner, name="Audited")
    pid = project["id"]
    builder = studio.member("builder", org=owner.account.org)
    r = owner.post(
        f"/projects/{pid}/members", json={"user_id": builder.account.user_id, "role": "builder"}
    )
    assert r.status_code == 201, r.text
    wf = workflow(builder, pid, ASK, name="By builder")
    updated = owner.patch(f"/projects/{pid}", json={"description": "new"})
    assert updated.status_code == 200
    path = f"/projects/{pid}/dashboard/audit-log"
    everything = data(owner.get(path))
    assert [e["action"] for e in everything] == [
        "project.updated",
        "workflow.created",
        "project.member_added",
        "project.created",
    ]
    change = everything[0]
    assert change["metadata"]["before"]["description"] == ""
    assert change["metadata"]["after"]["description"] == "new"
    assert change["user_id"] == owner.account.user_id and change["project_id"] == pid
    assert change["prev_hash"] and change["integrity_hash"] and change["seq"] > 1
    by_builder = data(owner.get(path, params={"user_id": builder.account.user_id}))
    assert [(e["action"], e["entity_id"]) for e in by_builder] == [("workflow.created", wf["id"])]
    assert [e["action"] for e in data(owner.get(path, params={"action": "project.created"}))] == [
        "project.created"
    ]
    assert len(data(owner.get(path, params={"entity_type": "project"}))) == 2
    later = (clock.now() + dt.timedelta(minutes=5)).isoformat() + "Z"
    assert data(owner.get(path, params={"since": later})) == []
    assert len(data(owner.get(path, params={"until": later}))) == 4
    since = change["created_at"]
    assert data(owner.get(path, params={"since": since}))[0]["id"] == change["id"]
    for bad in (
        {"since": "not a time"},
        {"since": later, "until": since},
        {"until": "9999-12-31T23:59:59-05:00"},  # past the calendar in UTC
    ):
        r = owner.get(path, params=bad)
        assert r.status_code == 422, r.text
    page = owner.get(path, params={"limit": 3})
    more = owner.get(path, params={"cursor": page.json()["meta"]["next_cursor"]})
    assert [e["action"] for e in data(more)] == ["project.created"]


def test_roles_and_tenancy(seeded: Seeded, studio: Studio) -> None:
    owner, org = seeded.owner, seeded.org_id
    viewer = studio.member("viewer", org=owner.account.org)
    r = owner.post(
        f"/projects/{seeded.a['id']}/members",
        json={"user_id": viewer.account.user_id, "role": "viewer"},
    )
    assert r.status_code == 201, r.text
    # An org viewer sees the dashboards of the projects they belong to, and only those.
    overview = data(viewer.get(f"/orgs/{org}/dashboard/overview"))
    assert overview["projects"]["total"] == 1 and overview["runs"]["last_7_days"] == 4
    assert overview["pending_approvals"] == 0
    listed = data(viewer.get(f"/orgs/{org}/dashboard/projects"))
    assert [i["project"]["id"] for i in listed] == [seeded.a["id"]]
    assert [i["project_id"] for i in data(viewer.get(f"/orgs/{org}/dashboard/health-rollup"))] == [
        seeded.a["id"]
    ]
    for tail in ("overview", "activity", "audit-log", "analytics"):
        assert viewer.get(f"/projects/{seeded.a['id']}/dashboard/{tail}").status_code == 200
        assert viewer.get(f"/projects/{seeded.b['id']}/dashboard/{tail}").status_code == 404
    # Another org: its owner gets 404 for this org and its projects, and sees none of its runs.
    stranger = studio.member("owner")
    for tail in ("overview", "projects", "health-rollup"):
        r = stranger.get(f"/orgs/{org}/dashboard/{tail}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "RESOURCE_NOT_FOUND", r.text
    for tail in ("overview", "activity", "audit-log", "analytics"):
        assert stranger.get(f"/projects/{seeded.a['id']}/dashboard/{tail}").status_code == 404
    theirs = data(stranger.get(f"/orgs/{stranger.account.org_id}/dashboard/overview"))
    assert theirs["runs"]["last_7_days"] == 0 and theirs["projects"]["total"] == 0
    # A personal access token reads them too; no credential → 401.
    token = studio.with_token(owner)
    assert token.get(f"/orgs/{org}/dashboard/overview").status_code == 200
    anonymous = studio.http()
    assert anonymous.get(f"/api/internal/orgs/{org}/dashboard/overview").status_code == 401
