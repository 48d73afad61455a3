"""A run survives a killed worker: SIGKILL a consumer subprocess mid-step; after its lease
lapses the reaper re-enqueues the run, another worker resumes it at the interrupted step, and
no completed step runs twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from agentyard import flows
from agentyard.core.store import connection
from tests.flows.conftest import records, start, trace, wait_status

ROOT = Path(__file__).resolve().parents[2]


def spawn_worker(settings, queue_name: str, out: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AGENTYARD_DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
        "AGENTYARD_JOBS_QUEUE": queue_name,
        "AGENTYARD_FLOWS_LEASE_SECONDS": "2",
    }
    with open(out, "ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.flows.worker_main"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def lines(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_a_killed_worker_s_run_resumes_without_repeating_a_completed_step(
    queue_name, settings, engine, tenant, tmp_path
):
    log = tmp_path / "steps.log"
    definition = {
        "steps": [
            {
                "type": "record",
                "props": {"log": str(log), "sleep": 3.0 if i == 2 else 0.2, "value": i},
                "output_key": f"s{i}",
            }
            for i in range(5)
        ],
        "output": ["@s0", "@s1", "@s2", "@s3", "@s4"],
    }
    first = spawn_worker(settings, queue_name, tmp_path / "worker-1.out")
    second = None
    try:
        run_id = start(engine, tenant, definition)
        wait_until(
            lambda: any(x["event"] == "start" and x["path"] == "2" for x in lines(log)),
            60,
            "the first worker to reach step 2",
        )
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert records(run_id)["2"].status == "running"  # interrupted mid-step
        with connection():
            assert flows.get_run(run_id).status == "running"

        second = spawn_worker(settings, queue_name, tmp_path / "worker-2.out")

        def finished() -> bool:
            with connection():
                flows.sweep()  # what the reaper does every flows_reaper_seconds
                return flows.get_run(run_id).status == "completed"

        wait_until(finished, 60, "the second worker to finish the run")
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)

    run = wait_status(run_id, "completed")
    assert run.output == [0, 1, 2, 3, 4]
    starts = [(x["path"], x["attempt"]) for x in lines(log) if x["event"] == "start"]
    assert starts == [("0", 1), ("1", 1), ("2", 1), ("2", 2), ("3", 1), ("4", 1)]
    ends = [(x["path"], x["attempt"]) for x in lines(log) if x["event"] == "end"]
    assert ends == [("0", 1), ("1", 1), ("2", 2), ("3", 1), ("4", 1)]
    keys = {x["key"] for x in lines(log) if x["path"] == "2"}
    assert keys == {f"{run_id}:2"}  # a retried call is recognisable
    assert {p: r.attempt for p, r in records(run_id).items()} == {
        "0": 1,
        "1": 1,
        "2": 2,
        "3": 1,
        "4": 1,
    }
    assert "run_taken_over" in [e.kind for e in trace(run_id)]


def test_a_lost_job_is_re_enqueued_by_the_sweep(queue_name, engine, tenant):
    import datetime as dt

    from agentyard.core import clock, jobs
    from tests.flows.conftest import FAST

    run_id = start(engine, tenant, {"steps": [{"type": "echo", "props": {"a": 1}}]})
    jobs.huey.flush()  # the queued job is lost (e.g. a Redis without persistence restarted)

    def queued() -> bool:
        return any(tuple(t.args) == (run_id,) for t in jobs.huey.pending())

    # The store is shared with the session's other tests, whose abandoned runs (started with
    # no consumer, e.g. by the contract fuzzers) are reclaimed too: look at ours alone.
    with connection():
        flows.sweep()
        assert not queued()  # not stale yet
        flows.sweep(clock.now() + dt.timedelta(seconds=5))
        assert queued()
    jobs.start_consumer(workers=1, periodic=False, **FAST)
    wait_status(run_id, "completed")


def test_the_reaper_sweeps_as_often_as_configured(monkeypatch):
    import datetime as dt

    from agentyard.flows import runs

    swept, scheduled = [], []
    monkeypatch.setattr(runs, "sweep", lambda now=None: swept.append(now))
    monkeypatch.setattr(
        runs.sweep_job, "schedule", lambda delay=None, **kw: scheduled.append(delay)
    )
    monkeypatch.setattr(runs, "reaper_seconds", lambda: 15.0)
    runs.reaper.call_local()
    assert len(swept) == 1 and scheduled == [15.0, 30.0, 45.0]
    assert runs._reaper_due(dt.datetime(2026, 1, 1, 10, 7))
    monkeypatch.setattr(runs, "reaper_seconds", lambda: 300.0)
    assert runs._reaper_due(dt.datetime(2026, 1, 1, 10, 5))
    assert not runs._reaper_due(dt.datetime(2026, 1, 1, 10, 7))
