"""Definition validation (errors name the step index and path; cycles through
__run_workflow__) and the DAG of a definition."""

from __future__ import annotations

import pytest

from agentyard.hyphen import dag, definitions

RECON = {
    "condition": {"greaterThan": ["@input.invoices.length", 0]},
    "actions": [
        {
            "type": "matcher",
            "properties": {
                "left": "@input.invoices",
                "right": "@input.payments",
                "matchOn": ["po_number"],
                "outputUnmatchedLeft": "unmatched_invoices",
            },
        },
        {
            "type": "loop",
            "filter": {"condition": {"greaterThan": [{"length": "@unmatched_invoices"}, 0]}},
            "properties": {
                "mode": "foreach",
                "items_path": "@unmatched_invoices",
                "item_variable_name": "exception",
                "max_concurrency": 4,
                "collect_results": True,
                "result_key": "investigations",
                "actions_to_execute": [
                    {
                        "type": "loop",
                        "properties": {
                            "mode": "react",
                            "objective": "Investigate {{exception.invoice_id}}",
                            "tools": [{"type": "action", "name": "lookup_po"}],
                            "max_iterations": 5,
                            "on_stuck": {"iterations": 3, "action": "escalate"},
                            "result_key": "finding",
                        },
                    }
                ],
            },
        },
        {
            "type": "PbotApproval",
            "properties": {"comment": "Review {{investigations.count}}", "request_payload": {}},
        },
        {"type": "lookup_po", "properties": {"po": "@__comment"}, "outputKey": "po"},
    ],
}
CATALOG = definitions.Catalog(actions={"lookup_po": "http"})


def test_valid_definition_compiles():
    compiled = definitions.check(RECON, CATALOG)
    assert compiled["when"] == RECON["condition"]
    loop = compiled["steps"][1]
    assert loop["type"] == "foreach" and loop["output_key"] == "investigations"
    assert loop["props"]["max_concurrency"] == 4
    assert loop["props"]["steps"][0]["type"] == "hyphen.react"
    assert compiled["steps"][3] == {
        "type": "hyphen.action",
        "props": {"action": "lookup_po", "properties": {"po": "@__comment"}},
        "output_key": "po",
    }


def _broken(path: list, value) -> dict:
    import copy

    d = copy.deepcopy(RECON)
    target = d
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return d


@pytest.mark.parametrize(
    "path, value, where",
    [
        (["actions", 3, "type"], "nope", "actions[3].type"),
        (["actions", 0, "properties", "left"], KeyError, "actions[0].properties.left"),
        (["actions", 2, "properties", "comment"], 5, "actions[2].properties.comment"),
        (
            ["actions", 1, "properties", "actions_to_execute", 0, "properties", "objective"],
            KeyError,
            "actions[1].properties.actions_to_execute[0].properties.objective",
        ),
        (
            ["actions", 1, "properties", "actions_to_execute", 0, "properties", "tools", 0, "name"],
            "ghost",
            "actions[1].properties.actions_to_execute[0].properties.tools[0].name",
        ),
        (["actions", 0, "properties", "right"], "@input..x", "actions[0].properties.right"),
        (["actions", 0, "properties", "right"], "@undefined_thing", "actions[0].properties.right"),
        (["actions", 1, "properties", "mode"], "while", "actions[1].properties.mode"),
        (["condition"], {"weird": [1, 2]}, "definition.condition.weird"),
        (["actions"], [], "definition.actions"),
    ],
)
def test_errors_name_the_step(path, value, where):
    with pytest.raises(definitions.DefinitionError) as info:
        definitions.check(_broken(path, value), CATALOG)
    assert info.value.where == where


def test_cycle_through_run_workflow():
    calls_b = {
        "actions": [
            {
                "type": "loop",
                "properties": {
                    "mode": "react",
                    "objective": "x",
                    "tools": [{"type": "workflow", "id": "wfl-b"}],
                },
            }
        ]
    }
    calls_a = {
        "actions": [
            {
                "type": "loop",
                "properties": {
                    "mode": "react",
                    "objective": "x",
                    "tools": [{"type": "workflow", "id": "wfl-a"}],
                },
            }
        ]
    }
    catalog = definitions.Catalog(workflows={"wfl-a": calls_b, "wfl-b": {"actions": []}})
    definitions.check(calls_b, catalog, "wfl-a")  # a -> b, b calls nothing: fine
    catalog = definitions.Catalog(workflows={"wfl-a": calls_b, "wfl-b": calls_a})
    with pytest.raises(definitions.DefinitionError, match="wfl-a -> wfl-b -> wfl-a"):
        definitions.check(calls_b, catalog, "wfl-a")
    with pytest.raises(definitions.DefinitionError, match="cycle"):
        definitions.check(calls_a, definitions.Catalog(workflows={"wfl-a": calls_a}), "wfl-a")


def test_dag_shape():
    graph = dag.generate(RECON)
    ids = {n["id"] for n in graph["nodes"]}
    assert {
        "start",
        "condition",
        "condition_not_met",
        "0",
        "1",
        "1.filter",
        "1.body.0",
        "2",
        "3",
        "end",
    } <= ids
    edges = {(e["source"], e["target"], e["type"]) for e in graph["edges"]}
    assert ("condition", "condition_not_met", "else") in edges
    assert ("1.filter", "1", "filter") in edges
    assert ("1.filter", "2", "skip") in edges
    assert ("1", "1.body.0", "body") in edges
    assert ("1.body.0", "1", "loop") in edges
    assert next(n for n in graph["nodes"] if n["id"] == "2")["pause"] is True
    assert next(n for n in graph["nodes"] if n["id"] == "1.body.0")["pause"] is True
