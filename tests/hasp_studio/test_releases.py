# ruff: noqa: F811 - the receiver and consumer fixtures come from tests.hasp_ai.test_webhooks
"""Releases over HTTP: the lifecycle with a two-approver floor, the soft lock, reject and
cancel, deploy (the published version of a workflow), rollback and emergency rollback, the
diff / impact / summary, roles, tenancy, audit, the release webhooks and the palette command."""

from __future__ import annotations

import json

from agentyard.core import audit
from agentyard.core.keys import Tenant
from agentyard.core.store import connection
from agentyard.hasp.studio import contract_versions
from tests.hasp_ai.test_webhooks import Receiver, consumer, receiver  # noqa: F401  (fixtures)
from tests.hasp_studio.conftest import Client, Studio, new_project
from tests.hasp_studio.test_entities import add, new_entity


def workflow(client: Client, project_id: str, slug: str) -> dict:
    body = {
        "name": slug.title(),
        "slug": slug,
        "definition": {"trigger": {"type": "manual"}, "steps": [
            {"id": "hold", "type": "approval", "title": f"Check {slug}"}
        ]},
    }  # fmt: skip
    return client.post(f"/projects/{project_id}/workflows", json=body)


def new_workflow(client: Client, project_id: str, slug: str) -> dict:
    r = workflow(client, project_id, slug)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def member_of(studio: Studio, owner: Client, project_id: str, role: str) -> Client:
    """A new org member holding `role` in the project (their org role too)."""
    client = studio.member(role, owner.account.org)
    r = owner.post(
        f"/projects/{project_id}/members", json={"user_id": client.account.user_id, "role": role}
    )
    assert r.status_code == 201, r.text
    return client


def request(client: Client, project_id: str, **body) -> dict:
    r = client.post(f"/projects/{project_id}/releases", json=body)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def ship(requester: Client, approver: Client, deployer: Client, project_id: str) -> dict:
    """Request, approve (floor 1) and deploy the project's current state."""
    release = request(requester, project_id)
    r = approver.post(f"/releases/{release['id']}/approve", json={})
    assert r.status_code == 200 and r.json()["data"]["state"] == "approved", r.text
    r = deployer.post(f"/releases/{release['id']}/deploy")
    assert r.status_code == 200, r.text
    return r.json()["data"]


def published(workflow_id: str) -> str | None:
    with connection():
        version = contract_versions.published_workflow(workflow_id)
    return version.release_id if version else None


def actions(org_id: str, release_id: str) -> list[str]:
    with connection():
        org = Tenant.get_by_id(org_id)
        return [e.action for e in audit.query(org, entity_id=release_id)[0]]


def test_lifecycle_with_a_two_approver_floor(studio: Studio, owner: Client) -> None:
    r = owner.patch(f"/orgs/{owner.account.org_id}/settings/release-policy",
                    json={"min_approvals": 2})  # fmt: skip
    assert r.status_code == 200, r.text
    project = new_project(owner, name="Care intake")
    builder = member_of(studio, owner, project["id"], "builder")
    first, second = (member_of(studio, owner, project["id"], "reviewer") for _ in range(2))
    wf = new_workflow(builder, project["id"], "triage")
    assert published(wf["id"]) is None

    release = request(builder, project["id"], title="First", notes="triage flow")
    assert release["number"] == 1 and release["state"] == "requested"
    assert release["title"] == "First" and release["requested_by"] == builder.account.user_id
    assert release["approvals_required"] == 2 and release["approvals"] == []
    assert release["diff"]["workflows"]["added"] == [{"id": wf["id"], "name": "triage"}]
    assert release["summary"].startswith("Release 1 of Care intake: ")
    assert "1 workflow added (triage)" in release["summary"]
    assert release["published"] is False
    rid = release["id"]

    own = builder.post(f"/releases/{rid}/approve", json={"comment": "mine"})
    assert own.status_code == 403 and own.json()["error"]["code"] == "SELF_APPROVAL_FORBIDDEN"
    early = owner.post(f"/releases/{rid}/deploy")
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "INVALID_RELEASE_STATE"
    assert early.json()["error"]["details"]["state"] == "requested"

    r = first.post(f"/releases/{rid}/approve", json={"comment": "looks fine"})
    assert r.status_code == 200 and r.json()["data"]["state"] == "requested"
    assert [a["comment"] for a in r.json()["data"]["approvals"]] == ["looks fine"]
    twice = first.post(f"/releases/{rid}/approve")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "ALREADY_APPROVED"
    r = second.post(f"/releases/{rid}/approve")
    approved = r.json()["data"]
    assert r.status_code == 200 and approved["state"] == "approved" and approved["approved_at"]
    assert {a["user_id"] for a in approved["approvals"]} == {
        first.account.user_id,
        second.account.user_id,
    }
    late = studio.member("reviewer", owner.account.org)
    owner.post(f"/projects/{project['id']}/members",
               json={"user_id": late.account.user_id, "role": "reviewer"})  # fmt: skip
    assert late.post(f"/releases/{rid}/approve").status_code == 409  # approved already

    assert builder.post(f"/releases/{rid}/deploy").status_code == 403  # project admin
    r = owner.post(f"/releases/{rid}/deploy")
    assert r.status_code == 200, r.text
    done = r.json()["data"]
    assert done["state"] == "published" and done["published"] is True and done["published_at"]
    assert done["deployed_by"] == owner.account.user_id
    assert published(wf["id"]) == rid
    assert owner.post(f"/releases/{rid}/deploy").status_code == 409

    nothing = builder.post(f"/projects/{project['id']}/releases", json={})
    assert nothing.status_code == 409 and nothing.json()["error"]["code"] == "NOTHING_TO_RELEASE"
    listed = builder.get(f"/projects/{project['id']}/releases?state=published").json()
    assert [x["id"] for x in listed["data"]] == [rid]
    assert builder.get(f"/projects/{project['id']}/releases?state=requested").json()["data"] == []
    assert builder.get(f"/releases/{rid}").json()["data"]["published"] is True
    assert {"release.requested", "release.approval_added", "release.approved",
            "release.published"} <= set(actions(owner.account.org_id, rid))  # fmt: skip


def test_soft_lock_refuses_authoring_until_the_release_closes(
    studio: Studio, owner: Client
) -> None:
    project = new_project(owner)
    pid = project["id"]
    entity = new_entity(owner, pid)
    release = request(owner, pid)
    assert release["title"] == "Release 1"

    locked = workflow(owner, pid, "intake")
    assert locked.status_code == 423, locked.text
    err = locked.json()["error"]
    assert err["code"] == "PROJECT_LOCKED" and err["details"]["release_id"] == release["id"]
    assert owner.post(f"/projects/{pid}/apps", json={"name": "Clinic"}).status_code == 423
    assert owner.delete(f"/entities/{entity['id']}").status_code == 423
    # Data and access stay writable.
    add(owner, entity["id"], name="Ada", mrn="M1")
    assert (
        owner.patch(f"/projects/{pid}", json={"description": "still editable"}).status_code == 200
    )
    member_of(studio, owner, pid, "viewer")

    again = owner.post(f"/projects/{pid}/releases", json={})
    assert again.status_code == 409 and again.json()["error"]["code"] == "RELEASE_OPEN"
    assert again.json()["error"]["details"]["release_id"] == release["id"]

    other_builder = member_of(studio, owner, pid, "builder")
    assert other_builder.post(f"/releases/{release['id']}/cancel", json={}).status_code == 403
    r = owner.post(f"/releases/{release['id']}/cancel", json={"reason": "not yet"})
    assert r.status_code == 200, r.text
    cancelled = r.json()["data"]
    assert cancelled["state"] == "cancelled" and cancelled["closed_at"]
    assert cancelled["reason"] == "not yet" and cancelled["decided_by"] == owner.account.user_id
    assert workflow(owner, pid, "intake").status_code == 201
    again = owner.post(f"/releases/{release['id']}/cancel")
    assert again.status_code == 409 and again.json()["error"]["details"]["state"] == "cancelled"
    assert "release.cancelled" in actions(owner.account.org_id, release["id"])
    # A new release after a cancelled one takes the next number.
    assert request(owner, pid)["number"] == 2


def test_reject_needs_a_reviewer_and_a_reason(studio: Studio, owner: Client) -> None:
    pid = new_project(owner)["id"]
    new_workflow(owner, pid, "intake")
    viewer = member_of(studio, owner, pid, "viewer")
    reviewer = member_of(studio, owner, pid, "reviewer")
    release = request(owner, pid)
    rid = release["id"]
    assert viewer.post(f"/releases/{rid}/reject", json={"reason": "no"}).status_code == 403
    assert viewer.post(f"/releases/{rid}/approve").status_code == 403
    assert viewer.get(f"/releases/{rid}").status_code == 200
    assert reviewer.post(f"/releases/{rid}/reject", json={}).status_code == 422
    assert reviewer.post(f"/releases/{rid}/reject", json={"reason": "  "}).status_code == 422
    r = reviewer.post(f"/releases/{rid}/reject", json={"reason": "needs tests"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["state"] == "rejected"
    assert r.json()["data"]["reason"] == "needs tests"
    assert reviewer.post(f"/releases/{rid}/approve").status_code == 409
    assert workflow(owner, pid, "after").status_code == 201  # unlocked


def test_rollback_republishes_the_previous_release(studio: Studio, owner: Client) -> None:
    pid = new_project(owner)["id"]
    reviewer = member_of(studio, owner, pid, "reviewer")
    builder = member_of(studio, owner, pid, "builder")
    a = new_workflow(owner, pid, "alpha")
    first = ship(owner, reviewer, owner, pid)
    none_before = owner.post(f"/releases/{first['id']}/rollback", json={})
    assert none_before.status_code == 409
    assert none_before.json()["error"]["code"] == "NOTHING_TO_ROLL_BACK"
    b = new_workflow(owner, pid, "beta")
    second = ship(owner, reviewer, owner, pid)
    assert second["diff"]["workflows"]["added"] == [{"id": b["id"], "name": "beta"}]
    assert published(b["id"]) == second["id"]
    old = owner.get(f"/releases/{first['id']}").json()["data"]
    assert old["state"] == "superseded" and old["published"] is False

    stale = owner.post(f"/releases/{first['id']}/rollback", json={})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "INVALID_RELEASE_STATE"
    assert builder.post(f"/releases/{second['id']}/rollback", json={}).status_code == 403
    r = owner.post(f"/releases/{second['id']}/rollback", json={"reason": "beta misbehaves"})
    assert r.status_code == 201, r.text
    back = r.json()["data"]
    assert back["number"] == 3 and back["state"] == "published" and back["published"] is True
    assert back["rollback_of"] == first["id"] and back["emergency"] is False
    assert back["diff"]["workflows"]["removed"] == [{"id": b["id"], "name": "beta"}]
    assert published(b["id"]) is None and published(a["id"]) == back["id"]
    assert owner.get(f"/releases/{second['id']}").json()["data"]["state"] == "superseded"
    # The draft is unchanged: beta is still being authored.
    slugs = {w["slug"] for w in owner.get(f"/projects/{pid}/workflows").json()["data"]}
    assert slugs == {"alpha", "beta"}
    # Rolling back the rollback restores the release it replaced.
    r = owner.post(f"/releases/{back['id']}/rollback", json={})
    assert r.status_code == 201 and r.json()["data"]["rollback_of"] == second["id"]
    assert published(b["id"]) == r.json()["data"]["id"]
    assert "release.rolled_back" in actions(owner.account.org_id, back["id"])


def test_emergency_rollback_cancels_the_open_release(studio: Studio, owner: Client) -> None:
    pid = new_project(owner)["id"]
    reviewer = member_of(studio, owner, pid, "reviewer")
    builder = member_of(studio, owner, pid, "builder")
    admin = member_of(studio, owner, pid, "admin")
    new_workflow(owner, pid, "alpha")
    first = ship(owner, reviewer, owner, pid)
    new_workflow(owner, pid, "beta")
    second = ship(owner, reviewer, owner, pid)
    new_workflow(owner, pid, "gamma")
    pending = request(builder, pid)

    blocked = admin.post(f"/releases/{second['id']}/rollback", json={})
    assert blocked.status_code == 409 and blocked.json()["error"]["code"] == "RELEASE_OPEN"
    path = f"/releases/{second['id']}/emergency-rollback"
    assert builder.post(path, json={"reason": "outage"}).status_code == 403
    assert admin.post(path, json={}).status_code == 422
    r = admin.post(path, json={"reason": "outage"})
    assert r.status_code == 201, r.text
    made = r.json()["data"]
    assert made["emergency"] is True and made["reason"] == "outage"
    assert made["rollback_of"] == first["id"] and made["state"] == "published"
    gone = admin.get(f"/releases/{pending['id']}").json()["data"]
    assert gone["state"] == "cancelled" and "emergency rollback" in gone["reason"]
    assert workflow(owner, pid, "delta").status_code == 201  # unlocked
    assert "release.emergency_rolled_back" in actions(owner.account.org_id, made["id"])


def test_diff_impact_and_summary_of_an_entity_change(studio: Studio, owner: Client) -> None:
    project = new_project(owner, name="Clinic")
    pid = project["id"]
    reviewer = member_of(studio, owner, pid, "reviewer")
    entity = new_entity(owner, pid)
    for i in range(3):
        add(owner, entity["id"], name=f"P{i}", mrn=f"M{i}", **({"age": 40} if i else {}))
    ship(owner, reviewer, owner, pid)
    fields = [
        {"name": "name", "type": "string", "required": True},
        {"name": "mrn", "type": "string", "unique": True, "phi": True},
        {"name": "status", "type": "enum", "options": ["open", "closed"], "default": "open"},
        {"name": "phone", "type": "string"},
    ]
    r = owner.patch(f"/entities/{entity['id']}", json={"fields": fields, "drop_fields": True})
    assert r.status_code == 200, r.text
    r = owner.patch(f"/projects/{pid}/policy", json={"retention_days": 30})
    assert r.status_code == 200, r.text
    release = request(owner, pid)
    changed = release["diff"]["entities"]["changed"]
    assert len(changed) == 1 and changed[0]["name"] == "patient"
    assert changed[0]["schema"] == {
        "added": ["phone"],
        "removed": ["age"],
        "retyped": [],
        "newly_required": [],
    }
    assert "fields" in changed[0]["fields"]
    assert release["diff"]["policy"]["changed"][0]["fields"] == ["retention_days"]
    impact = release["impact"]
    assert impact["records_affected"] == 3
    assert impact["entities"] == [{
        "entity_id": entity["id"], "entity": "patient", "change": "changed", "records": 3,
        "removed": ["age"], "retyped": {}, "newly_required": {}, "records_affected": 3,
    }]  # fmt: skip
    assert "1 entity changed (patient: +phone -age)" in release["summary"]
    assert "1 policy changed (retention_days)" in release["summary"]


def test_roles_tenancy_and_bad_input(studio: Studio, owner: Client) -> None:
    pid = new_project(owner)["id"]
    viewer = member_of(studio, owner, pid, "viewer")
    assert viewer.post(f"/projects/{pid}/releases", json={}).status_code == 403
    assert owner.post(f"/projects/{pid}/releases", json={"title": 5}).status_code == 422
    assert owner.post(f"/projects/{pid}/releases", json={"x": 1}).status_code == 422
    release = request(owner, pid)
    stranger = studio.with_token(studio.member("owner"))
    for path in ("", "/approve", "/cancel", "/deploy", "/rollback"):
        r = stranger.post(f"/releases/{release['id']}{path}", json={}) if path else \
            stranger.get(f"/releases/{release['id']}")  # fmt: skip
        assert r.status_code == 404, (path, r.text)
    assert stranger.get(f"/projects/{pid}/releases").status_code == 404
    assert stranger.post(f"/projects/{pid}/releases", json={}).status_code == 404
    outsider = studio.member("builder", owner.account.org)  # same org, not in the project
    assert outsider.get(f"/releases/{release['id']}").status_code == 404
    assert owner.get("/releases/rel_nope").status_code == 404
    assert owner.get(f"/projects/{pid}/releases?state=nope").status_code == 422


def test_webhooks_are_told_of_releases(
    studio: Studio, owner: Client, receiver: Receiver, consumer
) -> None:
    pid = new_project(owner)["id"]
    reviewer = member_of(studio, owner, pid, "reviewer")
    r = owner.post(f"/projects/{pid}/webhooks", json={
        "direction": "outbound", "name": "ops", "url": receiver.url,
        "events": ["release.published"],
    })  # fmt: skip
    assert r.status_code == 201, r.text
    shipped = ship(owner, reviewer, owner, pid)
    got = receiver.events(timeout=15.0, want=1)
    assert len(got) == 1  # only the subscribed event
    body = json.loads(got[0]["body"])
    assert body["event"] == "release.published"
    assert body["data"]["release"]["id"] == shipped["id"]
    assert body["data"]["release"]["state"] == "published"


def test_palette_requests_a_release(studio: Studio, owner: Client) -> None:
    pid = new_project(owner)["id"]
    new_workflow(owner, pid, "alpha")
    r = owner.post(
        "/palette/execute",
        json={"command": "release.request", "args": {"project_id": pid, "title": "From palette"}},
    )
    assert r.status_code == 200, r.text
    result = r.json()["data"]["result"]
    assert result["state"] == "requested" and result["title"] == "From palette"
    again = owner.post(
        "/palette/execute", json={"command": "release.request", "args": {"project_id": pid}}
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "RELEASE_OPEN"
    bad = owner.post(
        "/palette/execute", json={"command": "release.request", "args": {"app_id": "x"}}
    )
    assert bad.status_code == 422


def test_self_approval_when_the_policy_allows_it(owner: Client) -> None:
    r = owner.patch(f"/orgs/{owner.account.org_id}/settings/release-policy",
                    json={"allow_self_approval": True})  # fmt: skip
    assert r.status_code == 200, r.text
    pid = new_project(owner)["id"]
    new_workflow(owner, pid, "alpha")
    release = request(owner, pid)
    assert release["approvals_required"] == 1
    r = owner.post(f"/releases/{release['id']}/approve", json={"comment": "ok by policy"})
    assert r.status_code == 200 and r.json()["data"]["state"] == "approved", r.text


def test_runs_are_not_locked_and_use_the_deployed_release(studio: Studio, owner: Client) -> None:
    pid = new_project(owner)["id"]
    reviewer = member_of(studio, owner, pid, "reviewer")
    alpha = new_workflow(owner, pid, "alpha")
    first = ship(owner, reviewer, owner, pid)
    new_workflow(owner, pid, "beta")
    pending = request(owner, pid)
    # A run is data, not authoring: it starts while the project is locked, on the published
    # release.
    r = owner.post(f"/workflows/{alpha['id']}/runs", json={"input": {}})
    assert r.status_code == 201, r.text
    assert r.json()["data"]["release_id"] == first["id"]
    assert reviewer.post(f"/releases/{pending['id']}/approve").status_code == 200
    assert owner.post(f"/releases/{pending['id']}/deploy").status_code == 200
    after = owner.post(f"/workflows/{alpha['id']}/runs", json={"input": {}}).json()["data"]
    assert after["release_id"] == pending["id"]
    runs = {x["id"]: x for x in owner.get(f"/workflows/{alpha['id']}/runs").json()["data"]}
    assert runs[r.json()["data"]["id"]]["release_id"] == first["id"]  # in flight: its version
