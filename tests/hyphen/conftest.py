"""Hyphen test fixtures, on the tests/kit `server` (every backend):

- `org`: a fresh org and its `sk-hyp-` key (`tests.kit.tenants.Key`; `org.headers`);
- `http`: an httpx client on `<server>/hyphen` sending `org`'s key;
- `other`: a client for a second, unrelated org (tenancy checks);
- `anon`: a client on `<server>/hyphen` with no credential;
- `org_id(key)`: the tenant id (`Caller.org_id`) of a minted key, for domain-level calls;
- `error(r, status)`: assert a `{"error", "message"}` answer and return its body.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from agentyard.core.keys import ApiKey
from agentyard.core.store import connection
from tests.kit.tenants import Key, make_key


@pytest.fixture
def org(server: str) -> Key:
    return make_key("hyphen")


@pytest.fixture
def http(server: str, org: Key) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server + "/hyphen", headers=org.headers, timeout=30) as client:
        yield client


@pytest.fixture
def other(server: str) -> Iterator[httpx.Client]:
    key = make_key("hyphen")
    with httpx.Client(base_url=server + "/hyphen", headers=key.headers, timeout=30) as client:
        yield client


@pytest.fixture
def anon(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server + "/hyphen", timeout=30) as client:
        yield client


def org_id(key: Key) -> str:
    """The org (tenant) id a key acts for."""
    with connection():
        return ApiKey.get_by_id(key.id).tenant_id


def error(r: httpx.Response, status: int) -> dict:
    """Assert an error answer in Hyphen's shape; its body."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) <= {"error", "message", "details"}, body
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]
    return body
