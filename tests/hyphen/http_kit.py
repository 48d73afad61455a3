"""HTTP fixtures for the Hyphen engine tests: an org's key and client on the live test
server, a second org (tenancy), the org's id, the flows consumer, an in-memory org config
(until org_config is merged the secrets come from here), and a scripted agent model.
Test modules import the fixtures they use from here."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from agentyard.core import keys
from agentyard.core.store import connection
from tests.hyphen.engine_kit import (
    Scripted,
    act,
    consumer,
    events,
    model,
    queue_name,
    secrets_store,
)
from tests.kit.tenants import make_key

__all__ = [
    "Scripted",
    "act",
    "api",
    "consumer",
    "events",
    "model",
    "other",
    "org_id",
    "queue_name",
    "secrets_store",
]


@pytest.fixture
def hkey(server):
    return make_key("hyphen")


@pytest.fixture
def api(server, hkey) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server + "/hyphen", headers=hkey.headers, timeout=60) as client:
        yield client


@pytest.fixture
def other(server) -> Iterator[httpx.Client]:
    key = make_key("hyphen")
    with httpx.Client(base_url=server + "/hyphen", headers=key.headers, timeout=60) as client:
        yield client


@pytest.fixture
def org_id(hkey) -> str:
    with connection():
        return keys.find_tenant("hyphen", hkey.tenant).id


def poll(api: httpx.Client, run_id: str, *statuses: str, timeout: float = 30.0) -> dict:
    """GET the run's status until it is one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        r = api.get(f"/runs/{run_id}/status")
        assert r.status_code == 200, r.text
        body = r.json()
        if body["status"] in statuses:
            return body
        if body["status"] in ("completed", "failed", "condition_not_met", "cancelled"):
            raise AssertionError(f"run ended {body['status']}: {body.get('error')}")
        if time.monotonic() > deadline:
            raise AssertionError(f"run is {body['status']}, not {statuses}")
        time.sleep(0.05)
