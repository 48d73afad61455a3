"""foreach: bounded real concurrency, failure strategies, collected results."""

from __future__ import annotations

import time

from tests.flows import steps
from tests.flows.conftest import records, start, wait_status


def loop(items, concurrency: int, body: list, **props) -> dict:
    return {
        "steps": [
            {
                "type": "foreach",
                "output_key": "loop",
                "props": {
                    "items": items,
                    "item_variable": "row",
                    "max_concurrency": concurrency,
                    "steps": body,
                    **props,
                },
            }
        ]
    }


def test_iterations_overlap_up_to_max_concurrency(consumer, engine, tenant):
    body = [{"type": "overlap", "props": {"item": "@row", "sleep": 0.4}, "output_key": "seen"}]
    began = time.monotonic()
    run_id = start(engine, tenant, loop("@input.rows", 4, body), {"rows": list(range(8))})
    run = wait_status(run_id, "completed")
    elapsed = time.monotonic() - began
    assert steps.gauge["max"] == 4  # really concurrent, and bounded
    assert elapsed < 8 * 0.4  # faster than one at a time
    out = run.context["loop"]
    assert out["count"] == 8 and out["succeeded"] == 8 and out["failed"] == 0
    assert [r["seen"] for r in out["results"]] == [{"item": i} for i in range(8)]
    assert records(run_id)["0/items/7/0"].status == "completed"


def test_one_at_a_time_by_default(consumer, engine, tenant):
    body = [{"type": "overlap", "props": {"sleep": 0.05}}]
    run_id = start(engine, tenant, loop([1, 2, 3], 1, body))
    wait_status(run_id, "completed")
    assert steps.gauge["max"] == 1


def test_fail_fast_fails_the_run(consumer, engine, tenant):
    body = [{"type": "fail_on", "props": {"value": "@row", "bad": 2}}]
    run = wait_status(start(engine, tenant, loop([1, 2, 3], 1, body)), "failed")
    assert run.error["path"] == "0/items/1/0"
    assert "0/items/2/0" not in records(run.id)


def test_continue_on_error_collects_the_failures(consumer, engine, tenant):
    body = [{"type": "fail_on", "props": {"value": "@row", "bad": 2}, "output_key": "v"}]
    definition = loop([1, 2, 3], 2, body, failure_strategy="continue_on_error")
    run = wait_status(start(engine, tenant, definition), "completed")
    out = run.context["loop"]
    assert (out["succeeded"], out["failed"]) == (2, 1)
    assert out["errors"][0]["index"] == 1 and out["errors"][0]["message"] == "bad value 2"
    assert out["results"] == [{"v": 1}, None, {"v": 3}]


def test_results_are_left_out_unless_collected(consumer, engine, tenant):
    body = [{"type": "echo", "props": {"x": "@row"}, "output_key": "e"}]
    run = wait_status(start(engine, tenant, loop([1], 1, body, collect_results=False)), "completed")
    assert "results" not in run.context["loop"]


def test_item_aliases_name_the_item_too(consumer, engine, tenant):
    body = [{"type": "echo", "props": {"a": "@row", "b": "@it", "i": "@index"}, "output_key": "e"}]
    run_id = start(engine, tenant, loop([5, 6], 1, body, item_aliases=["it"]))
    out = wait_status(run_id, "completed").context["loop"]
    assert [r["e"] for r in out["results"]] == [{"a": 5, "b": 5, "i": 0}, {"a": 6, "b": 6, "i": 1}]
