"""Rate limits: per API key (or bearer session), reads and writes counted apart."""

from __future__ import annotations

import dataclasses

import pytest

from agentyard.core import runtime


@pytest.fixture
def tight_limits():
    current = runtime.current()
    saved = current.settings
    current.settings = dataclasses.replace(saved, aisp_reads_per_minute=5, aisp_writes_per_minute=2)
    yield
    current.settings = saved


def test_reads_over_the_limit_get_429_with_retry_after(realm, tight_limits):
    codes = [realm.http.get("/api/v1/sessions", headers=realm.headers) for _ in range(7)]
    assert [r.status_code for r in codes] == [200] * 5 + [429] * 2
    limited = codes[-1]
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


def test_writes_have_their_own_budget(make_realm, tight_limits):
    realm = make_realm()
    body = {"kind": "service", "realm": realm.name}
    codes = [
        realm.http.post(
            "/api/v1/sessions", headers=realm.headers, json={**body, "name": f"s{i}"}
        ).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]
    assert realm.http.get("/api/v1/sessions", headers=realm.headers).status_code == 200
    # another key has its own budget
    other = make_realm()
    assert (
        other.http.post(
            "/api/v1/sessions",
            headers=other.headers,
            json={"kind": "service", "realm": other.name, "name": "x"},
        ).status_code
        == 200
    )
