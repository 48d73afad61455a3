"""Project workflows over HTTP: the definition format validated on save (400 naming step and
path), compiled onto the `hasp-studio` engine, listed; roles, tenancy, audit."""

from __future__ import annotations

import pytest

from agentyard.core.store import connection
from agentyard.hasp.studio.workflow_models import StudioWorkflow
from tests.hasp_studio.conftest import Client, Studio, new_project

SUMMARY = {
    "trigger": {"type": "manual"},
    "steps": [
        {"id": "summary", "type": "ai_chat", "prompt": "Summarise {{ input.note }}"},
        {
            "id": "route",
            "type": "condition",
            "branches": [
                {
                    "when": {"contains": ["@summary.text", "urgent"]},
                    "steps": [{"id": "review", "type": "approval", "title": "Check it"}],
                }
            ],
            "else": [
                {
                    "id": "save",
                    "type": "record_create",
                    "entity": "notes",
                    "values": {"text": "@summary.text"},
                }
            ],
        },
    ],
    "output": "@summary.text",
}


def create(client: Client, project_id: str, definition: dict, **extra):
    body = {"name": extra.pop("name", "Summarise"), "definition": definition, **extra}
    return client.post(f"/projects/{project_id}/workflows", json=body)


def test_create_compile_and_list(owner: Client) -> None:
    project = new_project(owner)
    r = create(owner, project["id"], SUMMARY)
    assert r.status_code == 201, r.text
    wf = r.json()["data"]
    assert wf["id"].startswith("wf_") and wf["slug"] == "summarise"
    assert wf["trigger_type"] == "manual" and wf["agent_callable"] is False
    assert wf["definition"]["steps"] == SUMMARY["steps"]
    with connection():
        compiled = StudioWorkflow.get_by_id(wf["id"]).compiled
    assert compiled["steps"][0] == {
        "type": "ai_chat",
        "props": {"prompt": "Summarise {{ input.note }}"},
        "output_key": "summary",
    }
    assert compiled["steps"][1]["props"]["branches"][0]["steps"][0]["type"] == "approval"
    assert compiled["output"] == "@summary.text"
    agent = create(
        owner,
        project["id"],
        {
            "trigger": {
                "type": "agent",
                "description": "triage",
                "input_schema": {"type": "object"},
            },
            "steps": [{"id": "call", "type": "call_workflow", "workflow": "summarise"}],
        },
        name="Agent entry",
    )
    assert agent.status_code == 201, agent.text
    assert agent.json()["data"]["agent_callable"] is True
    listed = owner.get(f"/projects/{project['id']}/workflows").json()["data"]
    assert [w["id"] for w in listed] == [agent.json()["data"]["id"], wf["id"]]
    again = create(owner, project["id"], SUMMARY)
    assert again.status_code == 409


def test_schedule_gets_its_next_fire_time(owner: Client) -> None:
    project = new_project(owner)
    definition = {
        "trigger": {"type": "schedule", "cron": "0 9 * * 1", "timezone": "America/New_York"},
        "steps": [{"id": "hello", "type": "ai_chat", "prompt": "hi"}],
    }
    wf = create(owner, project["id"], definition).json()["data"]
    assert wf["definition"]["trigger"]["input"] == {}
    # 09:00 in New York is 13:00 or 14:00 UTC, on a Monday.
    assert wf["next_fire_at"][11:16] in ("13:00", "14:00")


@pytest.mark.parametrize(
    "definition, step_index, path",
    [
        ({"steps": []}, None, "/trigger"),
        ({"trigger": {"type": "cron"}, "steps": []}, None, "/trigger/type"),
        (
            {"trigger": {"type": "schedule", "cron": "every day"}, "steps": []},
            None,
            "/trigger/cron",
        ),
        (
            {"trigger": {"type": "schedule", "cron": "* * * * *", "timezone": "Mars/Base"}},
            None,
            "/trigger/timezone",
        ),
        (
            {"trigger": {"type": "record_change", "entity": "p", "events": ["x"]}},
            None,
            "/trigger/events",
        ),
        ({"trigger": {"type": "manual"}, "steps": []}, None, "/steps"),
        (
            {"trigger": {"type": "manual"}, "steps": [{"id": "a", "type": "ai_chat"}]},
            0,
            "/steps/0/prompt",
        ),
        (
            {
                "trigger": {"type": "manual"},
                "steps": [
                    {"id": "a", "type": "ai_chat", "prompt": "x"},
                    {"id": "a", "type": "ai_chat", "prompt": "y"},
                ],
            },
            1,
            "/steps/1/id",
        ),
        (
            {
                "trigger": {"type": "manual"},
                "steps": [
                    {"id": "a", "type": "ai_chat", "prompt": "x"},
                    {
                        "id": "b",
                        "type": "condition",
                        "branches": [
                            {
                                "when": {"equals": [1]},
                                "steps": [{"id": "c", "type": "approval", "title": "t"}],
                            }
                        ],
                    },
                ],
            },
            1,
            "/steps/1/branches/0/when",
        ),
        (
            {
                "trigger": {"type": "manual"},
                "steps": [
                    {
                        "id": "b",
                        "type": "condition",
                        "branches": [
                            {
                                "when": True,
                                "steps": [
                                    {
                                        "id": "c",
                                        "type": "approval",
                                        "title": "t",
                                        "timeout_seconds": 5,
                                    }
                                ],
                            }
                        ],
                    }
                ],
            },
            0,
            "/steps/0/branches/0/steps/0/timeout_seconds",
        ),
        (
            {
                "trigger": {"type": "manual"},
                "steps": [{"id": "input", "type": "ai_chat", "prompt": "x"}],
            },
            0,
            "/steps/0/id",
        ),
        (
            {"trigger": {"type": "manual"}, "steps": [{"id": "a", "type": "shell", "cmd": "x"}]},
            0,
            "/steps/0/type",
        ),
        (
            {
                "trigger": {"type": "manual"},
                "steps": [{"id": "a", "type": "ai_chat", "prompt": "x", "foo": 1}],
            },
            0,
            "/steps/0/foo",
        ),
        (
            {
                "trigger": {"type": "manual"},
                "steps": [{"id": "a", "type": "call_workflow", "workflow": "nope"}],
            },
            0,
            "/steps/0/workflow",
        ),
        (
            {"trigger": {"type": "agent", "input_schema": {"type": 5}}, "steps": []},
            None,
            "/trigger/input_schema",
        ),
        (
            {
                "trigger": {"type": "manual"},
                "steps": [{"id": "a", "type": "ai_chat", "prompt": "x"}],
                "extra": 1,
            },
            None,
            "/extra",
        ),
    ],
)
def test_invalid_definitions_name_step_and_path(
    owner: Client, definition, step_index, path
) -> None:
    project = new_project(owner)
    r = create(owner, project["id"], definition)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "INVALID_WORKFLOW"
    assert error["details"]["path"] == path and error["details"]["step_index"] == step_index
    assert path in error["message"]
    assert owner.get(f"/projects/{project['id']}/workflows").json()["data"] == []


def test_roles_and_tenancy(owner: Client, studio: Studio) -> None:
    project = new_project(owner)
    pid = project["id"]
    reviewer = studio.member("reviewer", owner.account.org)
    owner.post(
        f"/projects/{pid}/members", json={"user_id": reviewer.account.user_id, "role": "reviewer"}
    )
    assert reviewer.get(f"/projects/{pid}/workflows").status_code == 200
    r = create(reviewer, pid, SUMMARY)
    assert r.status_code == 403
    stranger = studio.member("owner")
    assert stranger.get(f"/projects/{pid}/workflows").status_code == 404
    assert create(stranger, pid, SUMMARY).status_code == 404
    # Another project's workflow cannot be called.
    create(owner, pid, SUMMARY)
    other = new_project(owner)
    r = create(
        owner,
        other["id"],
        {
            "trigger": {"type": "manual"},
            "steps": [{"id": "a", "type": "call_workflow", "workflow": "summarise"}],
        },
    )
    assert r.status_code == 400 and r.json()["error"]["details"]["path"] == "/steps/0/workflow"
