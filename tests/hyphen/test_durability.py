# ruff: noqa: F811 - the fixtures come from tests.hyphen.gateway_kit
"""A Hyphen run survives a killed consumer: five http-action steps, the worker is SIGKILLed
while the third call is in flight; the next worker resumes at that step, the completed calls
are not made again, and the repeated call carries the same Idempotency-Key."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from agentyard import flows
from agentyard.core.store import connection
from agentyard.hyphen import actions, workflows
from tests.hyphen.engine_kit import org, queue_name, tenant, wait_status  # noqa: F401
from tests.hyphen.fake_http import FakeHTTP

ROOT = Path(__file__).resolve().parents[2]


def spawn(settings, queue: str, out: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AGENTYARD_DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
        "AGENTYARD_JOBS_QUEUE": queue,
        "AGENTYARD_FLOWS_LEASE_SECONDS": "2",
        "AGENTYARD_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32",
        "AGENTYARD_WEBHOOK_REQUIRE_HTTPS": "false",
    }
    with open(out, "ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.hyphen.worker_main"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_a_killed_consumer_does_not_repeat_completed_steps(queue_name, settings, org, tmp_path):
    with FakeHTTP() as fake:
        fake.sleep = 0.0
        with connection():
            actions.create(
                org,
                actions.ActionSpec(
                    action_name="record", kind="http", config={"url": fake.url + "/step/{{n}}"}
                ),
            )
            definition = {
                "actions": [
                    {"type": "record", "properties": {"n": i}, "outputKey": f"s{i}"}
                    for i in range(5)
                ]
            }
            wid = workflows.create(org, workflows.WorkflowSpec("durable", definition)).id
        first = spawn(settings, queue_name, tmp_path / "w1.out")
        second = None
        try:
            # the first call of step 2 hangs: the worker is killed while it is in flight
            original = fake.server.RequestHandlerClass._serve  # type: ignore[attr-defined]

            def slow_on_two(handler) -> None:
                if handler.path == "/step/2" and not any(
                    r["path"] == "/step/2" for r in fake.requests
                ):
                    fake.requests.append({"path": "/step/2", "headers": dict(handler.headers)})
                    time.sleep(30)
                    return
                original(handler)

            fake.server.RequestHandlerClass.do_POST = slow_on_two  # type: ignore[attr-defined]
            with connection():
                run_id = workflows.execute(org, wid, {}).id
            wait_until(
                lambda: any(r["path"] == "/step/2" for r in fake.requests), 60, "step 2's call"
            )
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            second = spawn(settings, queue_name, tmp_path / "w2.out")

            def finished() -> bool:
                with connection():
                    flows.sweep()
                    return flows.get_run(run_id).status == "completed"

            wait_until(finished, 60, "the second worker to finish the run")
        finally:
            for proc in (first, second):
                if proc is not None and proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
    run = wait_status(run_id, "completed")
    paths = [r["path"] for r in fake.requests]
    assert sorted(paths) == ["/step/0", "/step/1", "/step/2", "/step/2", "/step/3", "/step/4"]
    keys = {
        {k.lower(): v for k, v in r["headers"].items()}["idempotency-key"]
        for r in fake.requests
        if r["path"] == "/step/2"
    }
    assert keys == {f"{run_id}:2"}
    assert run.context["s4"]["path"] == "/step/4"
