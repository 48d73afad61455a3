"""SDK table rows over HTTP: limited to the key's tables, anonymous reads and signed-in writes,
the audit in the user's name, `table:updated` published, tenancy, and the SDK and engine
credentials kept apart."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.hyphen.conftest import error
from tests.hyphen.gateway_kit import signup
from tests.hyphen.http_kit import consumer, queue_name  # noqa: F401 - fixtures
from tests.hyphen.test_sdk_auth import (
    accounts,
    code_for,
    make_key,
    register,
    session,
    sign_in,
)
from tests.hyphen.test_sdk_tasks import Collector

FIELDS = [{"name": "sku", "type": "text", "required": True}, {"name": "qty", "type": "integer"}]

# unique per run: the dev outbox is shared by every test of the session
AMY = f"amy-{uuid.uuid4().hex[:8]}@example.com"
VAL = f"val-{uuid.uuid4().hex[:8]}@example.com"
ZED = f"zed-{uuid.uuid4().hex[:8]}@example.com"


@pytest.fixture
def account(server):
    yield from accounts(server)


def table(account, name: str) -> None:
    r = account.engine.post("/custom-tables", json={"name": name, "fields": FIELDS})
    assert r.status_code == 201, r.text


def test_rows_are_limited_to_allowed_tables_and_written_by_a_user(server, account, consumer):  # noqa: F811
    table(account, "orders")
    table(account, "salaries")
    for sku, qty in (("a", 3), ("b", 1), ("c", 2)):
        r = account.engine.post("/custom-tables/orders/insert", json={"sku": sku, "qty": qty})
        assert r.status_code == 201, r.text
    key = make_key(account, allowed_tables=["orders", "missing"])
    client = session(server, key["key"])
    # anonymous sessions read, with the filter and sort of /custom-tables
    page = client.get("/sdk/tables/orders/rows", params={"order_by": "qty", "limit": 2}).json()
    assert [r["sku"] for r in page["rows"]] == ["b", "c"] and page["total"] == 3
    only = client.get("/sdk/tables/orders/rows", params={"filter": '{"sku": "a"}'}).json()
    assert [r["qty"] for r in only["rows"]] == [3]
    error(client.get("/sdk/tables/orders/rows", params={"filter": "[1]"}), 400)
    # a table the key does not allow: 403 whether it exists or not; allowed but absent: 404
    error(client.get("/sdk/tables/salaries/rows"), 403)
    error(client.get("/sdk/tables/nothing/rows"), 403)
    error(client.get("/sdk/tables/missing/rows"), 404)
    # anonymous sessions cannot write
    error(client.post("/sdk/tables/orders/rows", json={"data": {"sku": "d"}}), 403)
    error(client.patch("/sdk/tables/orders/rows/1", json={"data": {"qty": 9}}), 403)
    assert client.get("/sdk/tables/orders/rows").json()["total"] == 3
    collector = Collector(account.org_id)
    try:
        sign_in(account, client, key["id"], AMY)
        r = client.post("/sdk/tables/orders/rows", json={"data": {"sku": "d", "qty": 4}})
        assert r.status_code == 201, r.text
        row = r.json()
        inserted = collector.wait_for("table:updated")
        assert inserted["data"] == {
            "table": "orders",
            "rowId": row["id"],
            "changes": {"sku": "d", "qty": 4},
        }
        first = page["rows"][0]["id"]
        r = client.patch(f"/sdk/tables/orders/rows/{first}", json={"data": {"qty": 7}})
        assert r.status_code == 200, r.text
        assert (r.json()["sku"], r.json()["qty"]) == ("b", 7)
        for _ in range(200):
            updates = [m for m in collector.messages if m["type"] == "table:updated"]
            if len(updates) == 2:
                break
            collector.stop.wait(0.05)
        assert updates[-1]["data"] == {"table": "orders", "rowId": first, "changes": {"qty": 7}}
    finally:
        collector.close()
    # bad values and unknown rows change nothing
    error(client.post("/sdk/tables/orders/rows", json={"data": {"qty": 1}}), 400)
    error(client.patch("/sdk/tables/orders/rows/999999", json={"data": {"qty": 1}}), 404)
    error(client.post("/sdk/tables/salaries/rows", json={"data": {"sku": "x"}}), 403)
    assert client.get("/sdk/tables/orders/rows").json()["total"] == 4
    # the table's audit names the user
    audit = account.engine.get("/custom-tables/orders/audit").json()["entries"]
    assert [(e["operation"], e["actor"]) for e in audit[-2:]] == [
        ("insert", AMY),
        ("patch", AMY),
    ]


def test_viewers_cannot_write_and_other_orgs_tables_are_not_there(server, account, consumer):  # noqa: F811
    table(account, "orders")
    stranger = signup(server)
    try:
        key = make_key(stranger, allowed_tables=["*"])
        client = session(server, key["key"])
        error(client.get("/sdk/tables/orders/rows"), 404)
        sign_in(stranger, client, key["id"], ZED)
        error(client.post("/sdk/tables/orders/rows", json={"data": {"sku": "x"}}), 404)
    finally:
        stranger.manage.close()
        stranger.engine.close()
    own = make_key(account, allowed_tables=["orders"])
    viewer = session(server, own["key"])
    register(account, own["id"], VAL, role="viewer")
    viewer.post("/sdk/auth/otp/request", json={"email": VAL})
    code = code_for(VAL)
    r = viewer.post("/sdk/auth/otp/verify", json={"email": VAL, "code": code})
    assert r.status_code == 200, r.text
    assert viewer.get("/sdk/tables/orders/rows").status_code == 200
    error(viewer.post("/sdk/tables/orders/rows", json={"data": {"sku": "x"}}), 403)


def test_sdk_and_engine_credentials_do_not_cross(server, account):
    table(account, "orders")
    key = make_key(account, allowed_tables=["*"])
    client = session(server, key["key"])
    token = client.headers["Authorization"]
    # an org key (sk-hyp-) opens no /sdk route
    for path in ("/sdk/tables/orders/rows", "/sdk/documents", "/sdk/agents", "/sdk/actions"):
        error(account.engine.get(path), 401)
    # an SDK session token or a publishable key opens no engine route
    with httpx.Client(base_url=server + "/hyphen", timeout=30) as bare:
        for headers in ({"Authorization": token}, {"Authorization": f"Bearer {key['key']}"}):
            error(bare.get("/custom-tables/orders/rows", headers=headers), 401)
            error(bare.get("/workflows", headers=headers), 401)
        error(bare.get("/sdk/tables/orders/rows", headers={"X-Publishable-Key": key["key"]}), 401)
