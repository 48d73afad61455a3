"""The executor: steps in order with outputs in the context, conditions, failures."""

from __future__ import annotations

import pytest

from agentyard import flows
from agentyard.core.store import connection
from tests.flows.conftest import records, start, trace, wait_status


def test_steps_run_in_order_and_outputs_reach_the_context(consumer, engine, tenant):
    definition = {
        "steps": [
            {"type": "echo", "props": {"x": "@input.x"}, "output_key": "first"},
            {
                "type": "echo",
                "props": {"y": "{{ first.x }}-2", "n": "@input.list.length"},
                "output_key": "second",
            },
        ],
        "output": "@second",
    }
    run_id = start(engine, tenant, definition, {"x": "one", "list": [1, 2, 3]})
    run = wait_status(run_id, "completed")
    assert run.output == {"y": "one-2", "n": 3}
    assert run.context["first"] == {"x": "one"}
    kinds = [(e.kind, e.path) for e in trace(run_id)]
    assert kinds == [
        ("run_started", None),
        ("step_started", "0"),
        ("step_completed", "0"),
        ("step_started", "1"),
        ("step_completed", "1"),
        ("run_completed", None),
    ]
    assert {p: r.status for p, r in records(run_id).items()} == {
        "0": "completed",
        "1": "completed",
    }


def test_a_false_definition_condition_runs_nothing(consumer, engine, tenant):
    definition = {"when": "@input.go", "steps": [{"type": "echo", "props": {}}]}
    run = wait_status(start(engine, tenant, definition, {"go": False}), "condition_not_met")
    assert set(records(run.id)) == {"when"}


def test_step_when_and_else_and_condition_branches(consumer, engine, tenant):
    definition = {
        "steps": [
            {
                "type": "echo",
                "props": {"a": 1},
                "output_key": "skipped",
                "when": "@input.no",
                "else": [{"type": "echo", "props": {"b": 2}, "output_key": "fallback"}],
            },
            {
                "type": "condition",
                "props": {
                    "branches": [
                        {
                            "when": "@input.no",
                            "steps": [{"type": "echo", "props": {}, "output_key": "x"}],
                        },
                        {
                            "when": "@input.yes",
                            "steps": [
                                {
                                    "type": "echo",
                                    "props": {"c": "@fallback.b"},
                                    "output_key": "chosen",
                                }
                            ],
                        },
                    ],
                    "else": [{"type": "fail", "props": {}}],
                },
            },
        ],
    }
    run = wait_status(start(engine, tenant, definition, {"yes": True, "no": False}), "completed")
    assert run.context["fallback"] == {"b": 2}
    assert run.context["chosen"] == {"c": 2}
    assert "skipped" not in run.context
    statuses = {p: r.status for p, r in records(run.id).items()}
    assert statuses == {
        "0": "skipped",
        "0/else/0": "completed",
        "1": "completed",
        "1/branches/1/0": "completed",
    }


def test_a_failing_step_fails_the_run_and_nothing_after_it_runs(consumer, engine, tenant):
    definition = {
        "steps": [
            {"type": "fail", "props": {"message": "no luck"}},
            {"type": "echo", "props": {}},
        ]
    }
    run = wait_status(start(engine, tenant, definition), "failed")
    assert run.error == {"path": "0", "code": "boom", "message": "no luck"}
    assert set(records(run.id)) == {"0"}
    assert trace(run.id)[-1].kind == "run_failed"


def test_an_unknown_step_type_is_refused_with_its_path(app, engine, tenant):
    definition = {
        "steps": [
            {
                "type": "foreach",
                "props": {"items": [], "steps": [{"type": "echo"}, {"type": "nope"}]},
            }
        ]
    }
    with connection(), pytest.raises(flows.InvalidDefinitionError) as caught:
        flows.start(engine, tenant, definition)
    assert caught.value.path == "0/items/*/1"
    assert "nope" in caught.value.message


def test_events_reach_the_product_hook(consumer, engine, tenant):
    from tests.flows import steps

    run = wait_status(
        start(engine, tenant, {"steps": [{"type": "echo", "props": {}}]}), "completed"
    )
    kinds = [e.kind for e in steps.events if e.run_id == run.id]
    assert kinds == ["run_started", "step_started", "step_completed", "run_completed"]


def test_a_reference_that_cannot_resolve_fails_the_step(consumer, engine, tenant):
    definition = {"steps": [{"type": "echo", "props": {"t": "vault:missing"}}]}
    run = wait_status(start(engine, tenant, definition), "failed")
    assert run.error["code"] == "step_error" and "missing" in run.error["message"]
