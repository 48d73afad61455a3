"""Discovery over HTTP: the agentic-patterns catalogue, and the apps and workflows galleries
answered by registered sources for exactly the projects the member can see."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentyard.hasp.studio import discovery, workflow_format
from tests.hasp_studio.conftest import Client, Studio, new_project


def _patterns(client: Client, **params) -> dict:
    r = client.get(f"/orgs/{client.account.org_id}/discovery/agentic-patterns", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_agentic_patterns_catalogue_and_paging(studio: Studio, owner: Client) -> None:
    everything = _patterns(owner)["data"]
    assert len(everything) >= 5 and len({p["id"] for p in everything}) == len(everything)
    for pattern in everything:
        assert pattern["name"] and pattern["description"] and pattern["primitives"]
        # every example is a valid Studio workflow definition (raises FormatError otherwise)
        checked = workflow_format.check(pattern["example"])
        assert checked.compiled["steps"], pattern["id"]
    seen, cursor = [], None
    while True:
        body = _patterns(owner, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [p["id"] for p in body["data"]]
        if not body["meta"]["has_more"]:
            break
        cursor = body["meta"]["next_cursor"]
    assert seen == [p["id"] for p in everything]
    viewer = studio.member("viewer", owner.account.org)
    assert _patterns(viewer)["data"] == everything
    other = studio.member("owner")
    assert other.get(f"/orgs/{owner.account.org_id}/discovery/agentic-patterns").status_code == 404


@pytest.fixture
def galleries() -> Iterator[list[list[str]]]:
    """Apps and workflows sources answering one item per project they are asked about."""
    asked: list[list[str]] = []
    saved = dict(discovery._sources)

    def source(kind: str):
        def answer(project_ids: list[str], cursor: str | None, limit: int):
            asked.append(sorted(project_ids))
            items = [
                {"id": f"{kind}_{p}", "project_id": p, "name": kind, "slug": kind,
                 "created_at": "2026-01-01T00:00:00Z",
                 **({"definition": {}, "agent_callable": True} if kind == "wf" else {})}
                for p in sorted(project_ids)
            ]  # fmt: skip
            return items[:limit], None, False

        return answer

    discovery.register("apps", source("app"))
    discovery.register("workflows", source("wf"))
    yield asked
    discovery._sources.clear()
    discovery._sources.update(saved)


def test_galleries_cover_exactly_the_visible_projects(
    studio: Studio, owner: Client, galleries
) -> None:
    org = owner.account.org_id
    mine, theirs, archived = (new_project(owner)["id"] for _ in range(3))
    owner.delete(f"/projects/{archived}")
    builder = studio.member("builder", owner.account.org)
    owner.post(
        f"/projects/{mine}/members", json={"user_id": builder.account.user_id, "role": "viewer"}
    )
    apps = owner.get(f"/orgs/{org}/discovery/apps")
    assert apps.status_code == 200
    assert {a["project_id"] for a in apps.json()["data"]} == {mine, theirs}
    seen = builder.get(f"/orgs/{org}/discovery/workflows").json()["data"]
    assert [(w["project_id"], w["agent_callable"]) for w in seen] == [(mine, True)]
    assert galleries[-1] == [mine]
    # A member without projects sees empty galleries; another org's id is not found.
    viewer = studio.member("viewer", owner.account.org)
    assert viewer.get(f"/orgs/{org}/discovery/apps").json()["data"] == []
    stranger = studio.member("owner")
    assert stranger.get(f"/orgs/{org}/discovery/apps").status_code == 404
    assert stranger.get(f"/orgs/{org}/discovery/workflows").status_code == 404


def test_galleries_without_a_source_are_empty(owner: Client) -> None:
    saved = dict(discovery._sources)
    discovery._sources.clear()
    try:
        new_project(owner)
        r = owner.get(f"/orgs/{owner.account.org_id}/discovery/apps")
        assert r.status_code == 200 and r.json()["data"] == []
        assert r.json()["meta"]["has_more"] is False
    finally:
        discovery._sources.update(saved)


def test_galleries_list_the_real_apps_and_workflows(owner: Client) -> None:
    from tests.hasp_studio.test_workflows import SUMMARY, create

    org = owner.account.org_id
    project = new_project(owner)["id"]
    app = owner.post(f"/projects/{project}/apps", json={"name": "Clinic Intake"}).json()["data"]
    wf = create(owner, project, SUMMARY).json()["data"]
    agent = create(
        owner,
        project,
        {
            "trigger": {
                "type": "agent",
                "description": "triage",
                "input_schema": {"type": "object"},
            },
            "steps": [{"id": "call", "type": "call_workflow", "workflow": "summarise"}],
        },
        name="Agent entry",
    ).json()["data"]
    apps = owner.get(f"/orgs/{org}/discovery/apps").json()["data"]
    assert app["id"] in {a["id"] for a in apps}
    flows = {
        w["id"]: w["agent_callable"]
        for w in owner.get(f"/orgs/{org}/discovery/workflows").json()["data"]
    }
    assert flows[wf["id"]] is False and flows[agent["id"]] is True
