"""The palette over HTTP: ranked, permission-filtered search and commands run through their
routes' domain functions (and 409 COMMAND_UNAVAILABLE for domains not installed)."""

from __future__ import annotations

from tests.hasp_studio.conftest import Client, Studio, new_project


def _query(client: Client, text: str, **body) -> list[dict]:
    r = client.post("/palette/query", json={"query": text, **body})
    assert r.status_code == 200, r.text
    return r.json()["data"]


def _execute(client: Client, command: str, **args):
    return client.post("/palette/execute", json={"command": command, "args": args})


def test_query_ranks_and_filters_by_permission(studio: Studio, owner: Client) -> None:
    intake = new_project(owner, name="Patient Intake")
    billing = new_project(owner, name="Billing Ops")
    r = owner.post(
        f"/orgs/{owner.account.org_id}/integrations",
        json={"name": "Intake EHR", "kind": "http", "config": {"base_url": "https://ehr.example"}},
    )
    assert r.status_code == 201
    hits = _query(owner, "patient intke")
    assert hits[0]["kind"] == "project" and hits[0]["id"] == intake["id"]
    assert hits[0]["project_id"] == intake["id"]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert billing["id"] not in {h["id"] for h in hits}
    assert "integration" in {h["kind"] for h in _query(owner, "intake ehr")}
    assert _query(owner, "billing")[0]["id"] == billing["id"]
    assert _query(owner, "human in the loop")[0]["kind"] == "pattern"
    assert len(_query(owner, "intake", limit=1)) == 1

    # A viewer sees only their projects; another org sees none of these.
    viewer = studio.member("viewer", owner.account.org)
    owner.post(f"/projects/{billing['id']}/members",
               json={"user_id": viewer.account.user_id, "role": "viewer"})  # fmt: skip
    projects_seen = {h["id"] for h in _query(viewer, "intake") + _query(viewer, "billing")
                     if h["kind"] == "project"}  # fmt: skip
    assert projects_seen == {billing["id"]}
    stranger = studio.member("owner")
    assert not {h["id"] for h in _query(stranger, "patient intake")} & {intake["id"]}


def test_empty_query_lists_the_commands_the_member_may_run(studio: Studio, owner: Client) -> None:
    names = {h["id"] for h in _query(owner, "")}
    assert {"project.create", "integration.test", "record.create", "workflow.run",
            "release.request"} <= names  # fmt: skip
    viewer = studio.member("viewer", owner.account.org)
    shown = {h["id"] for h in _query(viewer, "")}
    assert "project.create" not in shown and "record.create" in shown  # project-scoped


def test_execute_runs_commands_through_their_routes_rules(studio: Studio, owner: Client) -> None:
    r = _execute(owner, "project.create", name="From palette", slug="from-palette")
    assert r.status_code == 200, r.text
    made = r.json()["data"]
    assert made["command"] == "project.create" and made["result"]["slug"] == "from-palette"
    assert owner.get(f"/projects/{made['result']['id']}").status_code == 200
    # The same rules as POST /projects: a taken slug, a viewer.
    taken = _execute(owner, "project.create", name="Again", slug="from-palette")
    assert taken.status_code == 409
    viewer = studio.member("viewer", owner.account.org)
    assert _execute(viewer, "project.create", name="No").status_code == 403
    assert _execute(owner, "project.create").status_code == 422
    assert _execute(owner, "project.create", name="x", color="red").status_code == 422

    integration = owner.post(
        f"/orgs/{owner.account.org_id}/integrations",
        json={"name": "lan", "kind": "http", "config": {"base_url": "http://10.9.9.9"}},
    ).json()["data"]
    tested = _execute(owner, "integration.test", integration_id=integration["id"])
    assert tested.status_code == 200 and tested.json()["data"]["result"]["ok"] is False
    stranger = studio.with_token(studio.member("owner"))
    assert (
        _execute(stranger, "integration.test", integration_id=integration["id"]).status_code == 404
    )


def test_unavailable_and_unknown_commands(owner: Client) -> None:
    pid = new_project(owner)["id"]
    for command in ("release.request",):  # workflow.run: test_runs
        r = _execute(owner, command, project_id=pid)
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "COMMAND_UNAVAILABLE"
    unknown = _execute(owner, "rm.rf")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "COMMAND_NOT_FOUND"
    # Cookie auth without the CSRF header is refused before anything runs.
    assert owner.post("/palette/execute", json={"command": "project.create",
                                                "args": {"name": "x"}}, csrf=False
                      ).status_code == 403  # fmt: skip


def test_record_create_goes_through_the_records_rules(studio: Studio, owner: Client) -> None:
    from tests.hasp_studio.test_entities import new_entity

    project = new_project(owner)["id"]
    entity = new_entity(owner, project)
    made = _execute(owner, "record.create", entity_id=entity["id"], values={"name": "Ann"})
    assert made.status_code == 200, made.text
    record_id = made.json()["data"]["result"]["id"]
    got = owner.get(f"/entities/{entity['id']}/records/{record_id}")
    assert got.status_code == 200 and got.json()["data"]["data"]["name"] == "Ann"
    bad = _execute(owner, "record.create", entity_id=entity["id"], values={"age": "old"})
    assert bad.status_code == 422, bad.text
    viewer = studio.member("viewer", owner.account.org)
    refused = _execute(viewer, "record.create", entity_id=entity["id"], values={"name": "B"})
    assert refused.status_code in (403, 404), refused.text
