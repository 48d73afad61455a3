"""Pausing for a human: no job held, resume continues, deciding twice is refused, TTLs and
cancellation."""

from __future__ import annotations

import time

import pytest

from agentyard import flows
from agentyard.core.store import connection
from tests.flows.conftest import records, start, trace, wait_status

APPROVAL = {
    "steps": [
        {"type": "echo", "props": {"a": 1}, "output_key": "before"},
        {"type": "approve", "props": {"comment": "ok {{ input.who }}?"}, "output_key": "decision"},
        {
            "type": "echo",
            "props": {"approved": "@__approved", "note": "@decision.comment"},
            "output_key": "after",
        },
    ]
}


def test_a_run_pauses_and_a_decision_continues_it(consumer, engine, tenant):
    run_id = start(engine, tenant, APPROVAL, {"who": "ann"})
    run = wait_status(run_id, "paused")
    assert (run.pause_path, run.pause_kind) == ("1", "approval")
    assert run.pause_payload == {"comment": "ok ann?"}
    assert run.lease_owner is None  # no worker holds it
    with connection():
        flows.resume(run_id, "1", {"approved": True, "comment": "fine"})
    run = wait_status(run_id, "completed")
    assert run.context["after"] == {"approved": True, "note": "fine"}
    assert records(run_id)["0"].attempt == 1  # the step before the pause did not run again
    kinds = [e.kind for e in trace(run_id)]
    assert kinds.index("paused") < kinds.index("resumed") < kinds.index("run_completed")


def test_deciding_twice_is_a_clear_error(consumer, engine, tenant):
    run_id = start(engine, tenant, APPROVAL, {"who": "bo"})
    wait_status(run_id, "paused")
    with connection():
        flows.resume(run_id, "1", {"approved": True})
    wait_status(run_id, "completed")
    with connection(), pytest.raises(flows.NotPausedError) as caught:
        flows.resume(run_id, "1", {"approved": False})
    assert caught.value.status == "completed"
    assert caught.value.pause_path is None


def test_a_decision_for_another_step_is_refused(consumer, engine, tenant):
    run_id = start(engine, tenant, APPROVAL)
    wait_status(run_id, "paused")
    with connection(), pytest.raises(flows.NotPausedError) as caught:
        flows.resume(run_id, "0", {"approved": True})
    assert (caught.value.status, caught.value.pause_path) == ("paused", "1")


def test_a_rejection_fails_the_run(consumer, engine, tenant):
    run_id = start(engine, tenant, APPROVAL)
    wait_status(run_id, "paused")
    with connection():
        flows.resume(run_id, "1", {"approved": False})
    run = wait_status(run_id, "failed")
    assert run.error["code"] == "rejected"
    assert "2" not in records(run_id)


def test_a_pause_ttl_fails_the_run_with_a_timeout(consumer, engine, tenant):
    definition = {"steps": [{"type": "approve", "props": {"kind": "form", "ttl_seconds": 0.2}}]}
    run_id = start(engine, tenant, definition)
    run = wait_status(run_id, "paused")
    assert run.pause_expires_at is not None
    time.sleep(0.3)
    with connection():
        assert flows.sweep()["expired"] == 1
        assert flows.sweep()["expired"] == 0
    run = wait_status(run_id, "failed")
    assert run.error["code"] == "timeout" and run.error["path"] == "0"
    assert records(run_id)["0"].status == "failed"
    with connection(), pytest.raises(flows.NotPausedError):
        flows.resume(run_id, "0", {"approved": True})


def test_cancelling_a_paused_run(consumer, engine, tenant):
    run_id = start(engine, tenant, APPROVAL)
    wait_status(run_id, "paused")
    with connection():
        assert flows.cancel(run_id) is True
        assert flows.cancel(run_id) is False
    run = wait_status(run_id, "cancelled")
    assert run.pause_path is None
    with connection(), pytest.raises(flows.NotPausedError):
        flows.resume(run_id, "1", {"approved": True})


def test_cancel_lets_the_running_step_finish_and_runs_nothing_after(
    consumer, engine, tenant, tmp_path
):
    log = tmp_path / "steps.log"
    definition = {
        "steps": [
            {"type": "record", "props": {"log": str(log), "sleep": 0.6}, "output_key": "a"},
            {"type": "record", "props": {"log": str(log)}},
        ]
    }
    run_id = start(engine, tenant, definition)
    deadline = time.monotonic() + 10
    while not (log.exists() and log.read_text()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    with connection():
        assert flows.cancel(run_id, "no longer needed")
    time.sleep(1.2)
    run = wait_status(run_id, "cancelled")
    assert run.error == {"code": "cancelled", "message": "no longer needed"}
    recs = records(run_id)
    assert recs["0"].status == "completed"  # it finished, and its result was recorded
    assert "1" not in recs
    assert [line.count('"end"') for line in log.read_text().splitlines()] == [0, 1]


def test_pauses_inside_a_foreach_resume_at_their_own_paths(consumer, engine, tenant):
    definition = {
        "steps": [
            {
                "type": "foreach",
                "output_key": "loop",
                "props": {
                    "items": ["a", "b"],
                    "steps": [
                        {"type": "echo", "props": {"x": "@item"}, "output_key": "seen"},
                        {
                            "type": "approve",
                            "props": {"comment": "{{ item }}?"},
                            "output_key": "ok",
                        },
                    ],
                },
            }
        ]
    }
    run_id = start(engine, tenant, definition)
    for index, item in enumerate("ab"):
        run = wait_status(run_id, "paused")
        assert run.pause_path == f"0/items/{index}/1"
        assert run.pause_payload == {"comment": f"{item}?"}
        with connection():
            flows.resume(run_id, run.pause_path, {"approved": True, "by": item})
    run = wait_status(run_id, "completed")
    assert run.context["loop"]["results"] == [
        {"seen": {"x": "a"}, "ok": {"approved": True, "by": "a"}},
        {"seen": {"x": "b"}, "ok": {"approved": True, "by": "b"}},
    ]
    assert records(run_id)["0/items/0/0"].attempt == 1  # replayed, not re-run


def test_a_waiting_pause_has_its_own_status(consumer, engine, tenant):
    from tests.flows import steps

    def wait_for_event(ctx):
        return ctx.pause("timer", {"at": "later"}, waiting=True)

    steps.ENGINE.register_step("wait_for_event", wait_for_event)
    run_id = start(engine, tenant, {"steps": [{"type": "wait_for_event", "output_key": "e"}]})
    assert wait_status(run_id, "waiting").pause_kind == "timer"
    with connection():
        flows.resume(run_id, "0", {"fired": True})
    assert wait_status(run_id, "completed").context["e"] == {"fired": True}
