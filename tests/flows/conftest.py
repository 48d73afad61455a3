"""Fixtures for the workflow engine: a fresh queue with a fast consumer, a tenant, short
leases, and helpers to wait for a run."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest

from agentyard import flows
from agentyard.core import jobs, keys
from agentyard.core.store import connection
from agentyard.flows import runs
from agentyard.flows.models import FINAL_STATUSES
from tests.flows import steps

FAST = {"poll_interval": 0.02, "scheduler_interval": 0.05}


def _restore(previous: jobs.Backend | None, running: dict | None) -> None:
    if previous is not None:
        jobs.bind(previous)
        if running is not None:
            jobs.start_consumer(**running)


@pytest.fixture
def queue_name(app, settings, monkeypatch) -> Iterator[str]:
    """A fresh queue on this backend, no consumer yet; leases of 1 s."""
    monkeypatch.setattr(jobs, "REDIS_BLOCK_SECONDS", 0.1)
    monkeypatch.setattr(runs, "lease_seconds", lambda: 1.0)
    previous, running = jobs.current_backend(), jobs.stop_consumer()
    name = f"flows-test-{secrets.token_hex(4)}"
    huey = jobs.configure(settings, name=name)
    try:
        yield name
    finally:
        jobs.stop_consumer()
        huey.flush()
        _restore(previous, running)


@pytest.fixture
def consumer(queue_name) -> Iterator[None]:
    """An in-process consumer with four worker threads on the fresh queue."""
    jobs.start_consumer(workers=4, periodic=False, **FAST)
    yield


@pytest.fixture
def tenant(app) -> str:
    with connection():
        row, _ = keys.get_or_create_tenant("flows-test", f"t-{secrets.token_hex(4)}")
    return row.id


@pytest.fixture
def engine() -> flows.Engine:
    steps.gauge.update(now=0, max=0)
    return steps.ENGINE


def wait_status(run_id: str, *statuses: str, timeout: float = 20.0) -> flows.Run:
    """Poll until the run has one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        with connection():
            run = flows.get_run(run_id)
        if run.status in statuses:
            return run
        if run.status in FINAL_STATUSES:
            raise AssertionError(f"run {run_id} ended {run.status}: {run.error}")
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} is {run.status}, not {statuses}")
        time.sleep(0.03)


def start(engine: flows.Engine, tenant: str, definition: dict, input=None) -> str:
    with connection():
        return flows.start(engine, tenant, definition, input).id


def records(run_id: str) -> dict[str, flows.StepRecord]:
    with connection():
        return {r.path: r for r in flows.step_records(run_id)}


def trace(run_id: str) -> list[flows.TraceEvent]:
    with connection():
        return flows.trace(run_id)
