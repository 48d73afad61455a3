"""Traces over HTTP: the detail (steps, the AI call, human decisions) with PHI redacted, the
export, lists and filters, replay linked to its original, and PHI elevation refused by the
default policy, allowed once the org's policy names a role, audited."""

from __future__ import annotations

import json

import pytest

from agentyard import flows
from agentyard.core import audit
from agentyard.core.keys import Tenant
from agentyard.core.store import connection
from tests.hasp_studio.conftest import Client, Studio, new_project
from tests.hasp_studio.publishing import publish
from tests.hasp_studio.test_triggers import wait_run, workflow

PATIENT = "John Smith"


@pytest.fixture
def consumer(app):
    from agentyard.core import jobs

    jobs.start_consumer(workers=2, poll_interval=0.05, scheduler_interval=0.05)
    yield
    jobs.stop_consumer()


def summarize(client: Client, project_id: str) -> dict:
    return workflow(
        client,
        project_id,
        {
            "trigger": {"type": "manual"},
            "steps": [
                {
                    "id": "ask",
                    "type": "ai_chat",
                    "prompt": "Summarize the visit of {{ input.who }}",
                },
                {"id": "ok", "type": "approval", "title": "Send the summary?"},
            ],
            "output": "@ask.text",
        },
    )


def traced_run(client: Client) -> tuple[dict, dict]:
    """A finished test run whose prompt named the patient; (project, run)."""
    project = new_project(client)
    wf = summarize(client, project["id"])
    r = client.post(f"/workflows/{wf['id']}/test?wait=0", json={"input": {"who": PATIENT}})
    assert r.status_code in (200, 202), r.text
    run = r.json()["data"]
    paused = wait_run(run["id"], until={"paused", "failed"})
    assert paused.status == "paused", paused.error
    with connection():
        flows.resume(run["id"], paused.pause_path, {"approved": True, "decided_by": "usr_rev",
                                                    "comment": "fine"})  # fmt: skip
    assert wait_run(run["id"]).status == "completed"
    return project, run


def actions(org_id: str) -> list[dict]:
    with connection():
        entries, _ = audit.query(Tenant.get_by_id(org_id), limit=200)
    return [{"action": e.action, "metadata": e.metadata} for e in entries]


def test_trace_detail_and_export_are_redacted(owner: Client, consumer) -> None:
    project, run = traced_run(owner)
    r = owner.get(f"/traces/{run['id']}")
    assert r.status_code == 200, r.text
    trace = r.json()["data"]
    assert PATIENT not in r.text and "[PERSON_1]" in r.text
    assert trace["redacted"] is True and trace["status"] == "completed"
    assert [s["type"] for s in trace["steps"]] == ["ai_chat", "approval"]
    assert all(s["duration_ms"] is not None for s in trace["steps"])
    assert "[PERSON_1]" in trace["steps"][0]["input"]["prompt"]
    (call,) = trace["ai_calls"]
    assert call["model"] and call["usage"]["input_tokens"] > 0 and call["request_id"]
    assert call["phi"]["mode"] == "redact" and call["phi"]["redacted"]["PERSON"] >= 1
    (decision,) = trace["decisions"]
    assert decision["decided_by"] == "usr_rev" and decision["approved"] is True
    assert decision["decided_at"] and decision["comment"] == "fine"
    kinds = [e["kind"] for e in trace["events"]]
    assert kinds[0] == "run_started" and kinds[-1] == "run_completed"

    exported = owner.get(f"/traces/{run['id']}/export")
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-disposition"] == (
        f'attachment; filename="trace-{run["id"]}.json"'
    )
    doc = exported.json()
    assert doc["format"] == "hasp-studio-trace" and doc["format_version"] == 1
    assert doc["version"] == {"release_id": None, "release_number": None, "draft": True,
                              "sandbox": True}  # fmt: skip
    assert doc["trace"]["steps"] == trace["steps"] and PATIENT not in exported.text


def test_list_filters_and_replay(owner: Client, consumer) -> None:
    project, run = traced_run(owner)
    wf_id = run["workflow_id"]
    r = owner.post(f"/traces/{run['id']}/replay", json={"version": "original"})
    assert r.status_code == 201, r.text
    replay = r.json()["data"]
    assert replay["replay_of"] == run["id"] and replay["sandbox"] is True
    assert replay["trigger"] == {"type": "replay", "trace_id": run["id"], "version": "original",
                                 "user_id": owner.account.user_id}  # fmt: skip
    wait_run(replay["id"], until={"paused"})

    listed = owner.get(f"/projects/{project['id']}/traces").json()["data"]
    assert [t["id"] for t in listed] == [replay["id"], run["id"]]
    assert PATIENT not in json.dumps(listed)
    done = owner.get(f"/projects/{project['id']}/traces?status=completed&workflow_id={wf_id}")
    assert [t["id"] for t in done.json()["data"]] == [run["id"]]
    later = owner.get(
        f"/projects/{project['id']}/traces", params={"since": replay["created_at"]}
    ).json()["data"]
    assert [t["id"] for t in later] == [replay["id"]]
    page = owner.get(f"/projects/{project['id']}/traces?limit=1").json()
    assert page["meta"]["has_more"] is True
    rest = owner.get(
        f"/projects/{project['id']}/traces",
        params={"limit": 1, "cursor": page["meta"]["next_cursor"]},
    ).json()["data"]
    assert [t["id"] for t in rest] == [run["id"]]

    current = owner.post(f"/traces/{run['id']}/replay", json={"version": "current"})
    assert current.status_code == 201 and current.json()["data"]["sandbox"] is True

    # a run of a published version replays on that release
    release_id = publish(project["id"])
    live = owner.post(f"/workflows/{wf_id}/runs", json={"input": {"who": "x"}}).json()["data"]
    again = owner.post(f"/traces/{live['id']}/replay", json={}).json()["data"]
    assert again["release_id"] == release_id and again["replay_of"] == live["id"]
    assert again["sandbox"] is False


def test_elevate_phi_follows_the_org_policy(studio: Studio, owner: Client, consumer) -> None:
    project, run = traced_run(owner)
    url = f"/traces/{run['id']}/elevate-phi"
    denied = owner.post(url, json={"reason": "audit of the visit"})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "PHI_ELEVATION_DENIED"

    settings = f"/orgs/{owner.account.org_id}/settings/phi-policy"
    assert owner.get(settings).json()["data"]["elevation_role"] is None
    r = owner.patch(settings, json={"elevation_role": "admin", "elevation_minutes": 5})
    assert r.status_code == 200, r.text
    assert (
        r.json()["data"]["elevation_role"] == "admin" and r.json()["data"]["phi_mode"] == "redact"
    )

    blank = owner.post(url, json={"reason": "  "})
    assert blank.status_code == 400 and blank.json()["error"]["code"] == "REASON_REQUIRED"
    assert owner.post(url, json={}).status_code == 400
    granted = owner.post(url, json={"reason": "audit of the visit"})
    assert granted.status_code == 200, granted.text
    data = granted.json()["data"]
    assert PATIENT in data["trace"]["steps"][0]["input"]["prompt"]
    assert data["trace"]["redacted"] is False and data["revealed"]["entity_types"]["PERSON"] >= 1
    assert data["expires_at"] > run["created_at"]

    again = owner.get(f"/traces/{run['id']}", params={"elevation": data["elevation_id"]})
    assert again.status_code == 200 and PATIENT in again.text
    assert PATIENT not in owner.get(f"/traces/{run['id']}").text

    # a builder of the project: below the policy's role, and another member's grant is not theirs
    builder = studio.member("builder", org=owner.account.org)
    owner.post(
        f"/projects/{project['id']}/members",
        json={"user_id": builder.account.user_id, "role": "builder"},
    )
    assert builder.get(f"/traces/{run['id']}").status_code == 200
    assert builder.post(url, json={"reason": "curious"}).status_code == 403
    stolen = builder.get(f"/traces/{run['id']}", params={"elevation": data["elevation_id"]})
    assert stolen.status_code == 403 and PATIENT not in stolen.text
    assert studio.member("owner").get(f"/traces/{run['id']}").status_code == 404

    entries = actions(owner.account.org_id)
    elevated = [e for e in entries if e["action"] == "trace.phi_elevated"]
    refused = [e for e in entries if e["action"] == "trace.phi_elevation_denied"]
    assert len(elevated) == 1 and len(refused) == 2
    after = elevated[0]["metadata"]["after"]
    assert after["reason"] == "audit of the visit" and after["revealed"]["entity_types"]["PERSON"]
    assert PATIENT not in json.dumps(entries)


def test_phi_fields_are_redacted_where_they_recur(owner: Client, consumer) -> None:
    project = new_project(owner)
    fields = [{"name": "diagnosis", "type": "string", "phi": True},
              {"name": "ward", "type": "string"}]  # fmt: skip
    r = owner.post(
        f"/projects/{project['id']}/entities",
        json={"key": "visits", "name": "Visits", "fields": fields},
    )
    assert r.status_code == 201, r.text
    wf = workflow(
        owner,
        project["id"],
        {
            "trigger": {"type": "manual"},
            "steps": [
                {"id": "save", "type": "record_create", "entity": "visits",
                 "values": {"diagnosis": "@input.diagnosis", "ward": "@input.ward"}},
            ],
            "output": "{{ input.diagnosis }} in {{ input.ward }}",
        },
    )  # fmt: skip
    body = {"input": {"diagnosis": "gestational diabetes", "ward": "north"}}
    run = owner.post(f"/workflows/{wf['id']}/test?wait=30", json=body).json()["data"]
    assert run["status"] == "completed" and run["output"] == "[PHI:diagnosis] in north"
    detail = owner.get(f"/traces/{run['id']}")
    assert "gestational diabetes" not in detail.text
    values = detail.json()["data"]["steps"][0]["input"]["values"]
    assert values == {"diagnosis": "[PHI:diagnosis]", "ward": "north"}

    owner.patch(
        f"/orgs/{owner.account.org_id}/settings/phi-policy", json={"elevation_role": "owner"}
    )
    granted = owner.post(f"/traces/{run['id']}/elevate-phi", json={"reason": "QA"}).json()["data"]
    assert granted["revealed"]["fields"] == ["diagnosis"]
    assert granted["trace"]["output"] == "gestational diabetes in north"
    # turning elevation off ends the grants still running
    owner.patch(f"/orgs/{owner.account.org_id}/settings/phi-policy", json={"elevation_role": None})
    late = owner.get(f"/traces/{run['id']}", params={"elevation": granted["elevation_id"]})
    assert late.status_code == 403 and "gestational diabetes" not in late.text
