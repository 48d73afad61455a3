"""/v1/usage and /v1/usage/budget: Sonnet-equivalent credits, reservations, the spend cap."""

from __future__ import annotations

import concurrent.futures
import math

from agentyard.hasp.ai.catalog import MODELS


def usage(org) -> dict:
    return org.http.get("/v1/usage", headers=org.headers).json()["data"]


def test_credits_are_weighted_per_model(org):
    before = usage(org)["credits"]["used"]
    for model in ("claude-haiku-4-5", "claude-sonnet-4-6"):
        r = org.message("Summarize a discharge note", model=model)
        body = r.json()
        tokens = body["usage"]["input_tokens"] + body["usage"]["output_tokens"]
        expected = math.ceil(tokens * MODELS[model].weight - 1e-9)
        record = org.http.get(f"/v1/ai/messages/{body['id']}", headers=org.headers).json()
        assert record["data"]["usage"]["sonnet_equivalent_tokens"] == expected
        before += expected
    now = usage(org)
    assert now["credits"]["used"] == before and now["requests"]["total"] == 2
    assert now["credits"]["reserved"] == 0
    assert now["period"]["start"].endswith("01T00:00:00.000Z")


def test_spend_cap_refuses_with_cycle_reset_and_raises_thresholds(org):
    r = org.http.put("/v1/usage/budget", headers=org.headers, json={"spend_cap": 400})
    assert r.status_code == 200 and r.json()["data"]["spend_cap"] == 400
    # Each request reserves input + max_tokens (weighted) before it goes upstream.
    assert org.message("hi", max_tokens=500).json()["error"]["code"] == "AI_CREDITS_EXHAUSTED"
    ok = org.message("hello there", max_tokens=150)
    assert ok.status_code == 200
    spent = usage(org)["credits"]["used"]
    while True:
        r = org.message("hello there", max_tokens=150)
        if r.status_code != 200:
            break
    assert r.status_code == 402
    error = r.json()["error"]
    assert error["code"] == "AI_CREDITS_EXHAUSTED" and error["type"] == "billing_error"
    assert error["details"]["cycle_reset_at"] == usage(org)["period"]["end"]
    budget = org.http.get("/v1/usage/budget", headers=org.headers).json()["data"]
    assert 50 in budget["thresholds_reached"] and spent > 0
    audit = org.http.get(
        "/v1/audit", headers=org.headers, params={"action": "budget.updated"}
    ).json()["data"]
    assert audit[0]["metadata"]["spend_cap"] == 400


def test_concurrent_requests_never_overshoot_the_cap(org):
    cap = 600
    org.http.put("/v1/usage/budget", headers=org.headers, json={"spend_cap": cap})

    def one(_):
        return org.message("count me in please", max_tokens=120).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(one, range(24)))
    assert set(statuses) <= {200, 402} and 200 in statuses and 402 in statuses
    now = usage(org)["credits"]
    assert now["used"] <= cap and now["reserved"] == 0


def test_budget_validation(org):
    for bad in ({"spend_cap": -1}, {"spend_cap": "lots"}, {}, {"spend_cap": 1, "extra": 2}):
        r = org.http.put("/v1/usage/budget", headers=org.headers, json=bad)
        assert r.status_code == 422, bad  # HASP's VALIDATION_FAILED status (issue 10)
        assert r.json()["success"] is False
    r = org.http.put("/v1/usage/budget", headers=org.headers, json={"spend_cap": None})
    assert r.status_code == 200 and r.json()["data"]["spend_cap"] is None


def test_a_request_whose_record_cannot_be_written_settles_no_credits(org, monkeypatch):
    """The settlement, the audit entry and the inference record are one transaction."""
    from agentyard.hasp.ai import records

    assert org.message("warm up").status_code == 200
    before = usage(org)
    audited = org.http.get("/v1/audit", headers=org.headers).json()["data"]

    def no_record(**fields):
        raise RuntimeError("the record could not be written")

    monkeypatch.setattr(records, "keep", no_record)
    assert org.message("hello there").status_code >= 500
    monkeypatch.undo()

    after = usage(org)
    assert after["credits"]["used"] == before["credits"]["used"]  # nothing settled
    assert after["requests"]["total"] == before["requests"]["total"]
    assert after["credits"]["reserved"] > 0  # the hold stays until it expires
    assert org.http.get("/v1/audit", headers=org.headers).json()["data"] == audited
    assert org.message("and again").status_code == 200  # the org is not stuck


def test_a_crashed_workers_hold_is_released_even_when_it_fills_the_limit(org):
    """A reservation older than RESERVATION_TTL (its worker died) is given back by the next
    request, also when that request is refused: the release is not undone with the refusal."""
    from agentyard.core import clock, ids, keys
    from agentyard.core.store import connection, write
    from agentyard.hasp import SURFACE
    from agentyard.hasp.ai import credits
    from agentyard.hasp.ai.models import CreditPeriod, Reservation

    org.http.put("/v1/usage/budget", headers=org.headers, json={"spend_cap": 1000})
    assert org.message("hello").status_code == 200
    with connection():
        tenant = keys.find_tenant(SURFACE, org.name)
        period = credits.period_of(clock.now())
        with write():
            Reservation.create(
                id=ids.new_id("res"),
                tenant=tenant,
                period=period,
                amount=990,
                created_at=clock.now() - credits.RESERVATION_TTL * 2,
            )
            CreditPeriod.update(reserved=CreditPeriod.reserved + 990).where(
                (CreditPeriod.tenant == tenant) & (CreditPeriod.period == period)
            ).execute()
    assert usage(org)["credits"]["reserved"] == 990
    too_big = org.message("hello again", max_tokens=2000)  # does not fit even without the hold
    assert too_big.json()["error"]["code"] == "AI_CREDITS_EXHAUSTED"
    assert usage(org)["credits"]["reserved"] == 0
    assert org.message("hello again", max_tokens=64).status_code == 200
    assert usage(org)["credits"]["reserved"] == 0
