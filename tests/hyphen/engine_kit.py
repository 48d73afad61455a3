"""Domain-level fixtures for the Hyphen engine tests (no HTTP): the flows test queue and
consumer, an org (a core tenant), an in-memory org config, recorded webhook events, and a
scripted model for agents. Test modules import the fixtures they use from here."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from agentyard import flows
from agentyard.core import webhooks as core_webhooks
from agentyard.core.store import connection
from agentyard.flows.models import FINAL_STATUSES
from agentyard.hyphen import agents, context
from agentyard.hyphen import engine as hyphen_engine
from agentyard.hyphen import steps as _steps  # noqa: F401 - registers the step types
from tests.flows.conftest import consumer, queue_name, tenant
from tests.kit.scripted_llm import Scripted, act  # noqa: F401  (re-exported to tests)

__all__ = ["consumer", "queue_name", "tenant"]


@pytest.fixture
def org(tenant) -> str:
    return tenant


@pytest.fixture
def secrets_store(monkeypatch) -> dict[tuple[str, str, str], str]:
    store: dict[tuple[str, str, str], str] = {}
    monkeypatch.setattr(context, "secret_lookup", [lambda o, k, n: store.get((o, k, n))])
    return store


@pytest.fixture
def events(monkeypatch) -> list[tuple[str, str, dict]]:
    seen: list[tuple[str, str, dict]] = []
    monkeypatch.setattr(hyphen_engine, "emit", lambda o, e, p: seen.append((o, e, p)))
    return seen


@pytest.fixture
def private_ok(monkeypatch) -> None:
    policy = core_webhooks.Policy(
        allow_private=core_webhooks.netguard.AllowList.parse("127.0.0.1/32"),
        require_https=False,
    )
    monkeypatch.setattr(core_webhooks, "_policy", policy)


@pytest.fixture
def model(monkeypatch) -> Iterator[list]:
    factories: list = [agents.provider_factory[-1]]
    monkeypatch.setattr(agents, "provider_factory", factories)
    yield factories


def wait_event(seen: list[tuple[str, str, dict]], name: str, timeout: float = 10.0) -> None:
    """Poll until the webhook event `name` is recorded: a run's worker commits its status
    first and then emits the event, so `wait_status` can return before it."""
    deadline = time.monotonic() + timeout
    while name not in [e for _, e, _ in seen]:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {name} event in {[e for _, e, _ in seen]}")
        time.sleep(0.01)


def wait_status(run_id: str, *statuses: str, timeout: float = 30.0) -> flows.Run:
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
