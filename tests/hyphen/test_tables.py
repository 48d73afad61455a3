"""Custom tables over HTTP: typed fields, required and maxLength, bulk insert all-or-nothing
with the failing row's index, update by filter, paginated/filterable/ordered rows, row patch,
delete, and the audit of every mutation; plus the functions the workflow engine calls."""

from __future__ import annotations

import pytest

from agentyard.core.errors import ApiError
from agentyard.core.store import connection
from agentyard.hyphen import tables
from tests.hyphen.conftest import error, org_id

FIELDS = [
    {"name": "invoice", "type": "text", "required": True, "maxLength": 8},
    {"name": "qty", "type": "integer"},
    {"name": "amount", "type": "numeric"},
    {"name": "paid", "type": "boolean"},
    {"name": "due", "type": "timestamptz"},
]


@pytest.fixture
def table(http) -> str:
    r = http.post("/custom-tables", json={"name": "ledger", "fields": FIELDS})
    assert r.status_code == 201, r.text
    return "ledger"


def rows(http, name: str = "ledger", **params) -> dict:
    r = http.get(f"/custom-tables/{name}/rows", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_create_get_and_name_conflict(http, table) -> None:
    got = http.get(f"/custom-tables/{table}").json()
    assert got["name"] == "ledger" and got["row_count"] == 0
    assert got["fields"][0] == {"name": "invoice", "type": "text", "required": True, "maxLength": 8}
    error(http.post("/custom-tables", json={"name": "ledger", "fields": FIELDS}), 409)


@pytest.mark.parametrize(
    "fields, words",
    [
        ([{"name": "id", "type": "text"}], "reserved"),
        ([{"name": "a", "type": "text"}, {"name": "a", "type": "integer"}], "twice"),
        ([{"name": "a", "type": "integer", "maxLength": 3}], "maxLength"),
    ],
)
def test_bad_field_definitions_are_refused(http, fields, words) -> None:
    body = error(http.post("/custom-tables", json={"name": "bad", "fields": fields}), 400)
    assert words in body["message"]
    error(http.get("/custom-tables/bad"), 404)


def test_insert_types_values_and_names_the_field_at_fault(http, table) -> None:
    r = http.post(
        f"/custom-tables/{table}/insert",
        json={
            "invoice": "INV-1",
            "qty": 3.0,
            "amount": 12.5,
            "paid": False,
            "due": "2026-05-01T10:00:00+02:00",
        },
    )
    assert r.status_code == 201, r.text
    row = r.json()
    assert row["qty"] == 3 and isinstance(row["qty"], int)
    assert row["due"] == "2026-05-01T08:00:00.000Z" and row["paid"] is False
    assert row["id"] >= 1 and row["created_at"]
    for bad, field in [
        ({"invoice": "INV-2", "qty": "3"}, "qty"),
        ({"invoice": "INV-2", "qty": 1.5}, "qty"),
        ({"invoice": "INV-2", "amount": True}, "amount"),
        ({"invoice": "INV-2", "paid": "yes"}, "paid"),
        ({"invoice": "INV-2", "due": "2026-05-01"}, "due"),
        ({"invoice": "TOO-LONG-1"}, "invoice"),
        ({"qty": 1}, "invoice"),
        ({"invoice": None}, "invoice"),
        ({"invoice": "INV-2", "nope": 1}, "nope"),
    ]:
        body = error(http.post(f"/custom-tables/{table}/insert", json=bad), 400)
        assert field in body["message"] and body["details"]["field"] == field, (bad, body)
    assert http.get(f"/custom-tables/{table}").json()["row_count"] == 1


def test_bulk_insert_is_all_or_nothing_and_names_the_row(http, table) -> None:
    good = [{"invoice": f"INV-{i}", "qty": i} for i in range(3)]
    body = error(
        http.post(
            f"/custom-tables/{table}/bulk-insert",
            json={"rows": [*good, {"invoice": "INV-9", "qty": "x"}]},
        ),
        400,
    )
    assert "rows[3].qty" in body["message"] and body["details"] == {"index": 3, "field": "qty"}
    assert rows(http)["total"] == 0
    r = http.post(f"/custom-tables/{table}/bulk-insert", json={"rows": good})
    assert r.status_code == 201 and r.json()["inserted"] == 3
    assert [row["invoice"] for row in r.json()["rows"]] == ["INV-0", "INV-1", "INV-2"]


def test_rows_are_paginated_filtered_and_stably_ordered(http, table) -> None:
    data = [
        {"invoice": f"I{i}", "qty": i % 3, "paid": i % 2 == 0, "amount": 10 - i} for i in range(7)
    ]
    http.post(f"/custom-tables/{table}/bulk-insert", json={"rows": data})
    page1, page2 = rows(http, limit=4), rows(http, limit=4, offset=4)
    assert page1["total"] == page2["total"] == 7
    ids = [r["id"] for r in page1["rows"] + page2["rows"]]
    assert ids == sorted(ids) and len(set(ids)) == 7
    only = rows(http, filter='{"qty": 1}')
    assert only["total"] == 2 and {r["invoice"] for r in only["rows"]} == {"I1", "I4"}
    assert rows(http, filter='{"paid": true, "qty": 0}')["total"] == 2  # I0, I6
    assert rows(http, filter='{"due": null}')["total"] == 7
    by_amount = rows(http, order_by="amount", order="desc")["rows"]
    assert [r["amount"] for r in by_amount] == sorted(
        (r["amount"] for r in by_amount), reverse=True
    )
    error(http.get(f"/custom-tables/{table}/rows", params={"filter": "[1]"}), 400)
    error(http.get(f"/custom-tables/{table}/rows", params={"filter": '{"nope": 1}'}), 400)
    error(http.get(f"/custom-tables/{table}/rows", params={"order_by": "nope"}), 400)


def test_update_by_filter_patch_and_the_audit(http, org, table) -> None:
    made = http.post(
        f"/custom-tables/{table}/bulk-insert",
        json={
            "rows": [
                {"invoice": "A", "qty": 1},
                {"invoice": "B", "qty": 1},
                {"invoice": "C", "qty": 2},
            ]
        },
    ).json()
    r = http.put(
        f"/custom-tables/{table}/update", json={"where": {"qty": 1}, "values": {"paid": True}}
    )
    assert r.status_code == 200 and r.json() == {"updated": 2}
    assert rows(http, filter='{"paid": true}')["total"] == 2
    error(
        http.put(
            f"/custom-tables/{table}/update",
            json={"where": {"qty": 1}, "values": {"invoice": None}},
        ),
        400,
    )
    row_c = made["rows"][2]["id"]
    r = http.patch(f"/custom-tables/{table}/rows/{row_c}", json={"data": {"amount": 9.75}})
    assert r.status_code == 200 and r.json()["amount"] == 9.75 and r.json()["invoice"] == "C"
    error(http.patch(f"/custom-tables/{table}/rows/999999999", json={"data": {"qty": 1}}), 404)
    r = http.post(f"/custom-tables/{table}/rows", json={"data": {"invoice": "D"}})
    assert r.status_code == 201 and r.json()["invoice"] == "D"

    audit = http.get(f"/custom-tables/{table}/audit").json()
    ops = [e["operation"] for e in audit["entries"]]
    assert ops == [
        "create_table",
        "insert",
        "insert",
        "insert",
        "update",
        "update",
        "patch",
        "insert",
    ]
    assert audit["total"] == 8 and all(e["actor"] == org.id for e in audit["entries"])
    update = audit["entries"][4]
    assert update["before"]["paid"] is None and update["after"]["paid"] is True
    patch = audit["entries"][6]
    assert patch["row_id"] == row_c and patch["before"]["amount"] is None
    assert patch["after"]["amount"] == 9.75
    assert (
        http.get(f"/custom-tables/{table}/audit", params={"limit": 2, "offset": 6}).json()[
            "entries"
        ][0]["operation"]
        == "patch"
    )


def test_delete_removes_the_table_and_frees_its_name(http, table) -> None:
    http.post(f"/custom-tables/{table}/insert", json={"invoice": "A"})
    r = http.delete(f"/custom-tables/{table}")
    assert r.status_code == 200 and r.json() == {"name": "ledger", "deleted": True}
    error(http.get(f"/custom-tables/{table}"), 404)
    error(http.get(f"/custom-tables/{table}/rows"), 404)
    error(http.get(f"/custom-tables/{table}/audit"), 404)
    assert http.post("/custom-tables", json={"name": "ledger", "fields": FIELDS}).status_code == 201
    assert rows(http)["total"] == 0


def test_engine_functions_read_insert_update_upsert(http, org, table) -> None:
    oid = org_id(org)
    with connection():
        made = tables.insert_row(oid, table, {"invoice": "X1", "qty": 1}, "run:r1")
        assert made["invoice"] == "X1"
        assert tables.update_rows(oid, table, {"invoice": "X1"}, {"qty": 5}, "run:r1") == 1
        first = tables.upsert_row(
            oid, table, ["invoice"], {"invoice": "X1", "paid": True}, "run:r1"
        )
        second = tables.upsert_row(oid, table, ["invoice"], {"invoice": "X2", "qty": 2}, "run:r1")
        assert first["id"] == made["id"] and first["qty"] == 5 and first["paid"] is True
        assert second["id"] != made["id"]
        found = tables.read_rows(oid, table, {"invoice": "X1"}, 10)
        assert [r["qty"] for r in found] == [5]
        assert len(tables.read_rows(oid, table, {}, 1)) == 1
        with pytest.raises(ApiError) as unknown:
            tables.read_rows(oid, "no_such_table", {}, 10)
        assert unknown.value.status == 404
        with pytest.raises(ApiError) as bad:
            tables.insert_row(oid, table, {"invoice": "X3", "qty": "many"}, "run:r1")
        assert bad.value.status == 400 and "qty" in bad.value.message
    audit = http.get(f"/custom-tables/{table}/audit").json()["entries"]
    assert audit[-1]["actor"] == "run:r1"


def test_values_out_of_range_are_400s(http, table) -> None:
    huge = 10**400
    r = http.post(
        f"/custom-tables/{table}/insert",
        content=f'{{"invoice": "A", "amount": {huge}}}'.encode(),
        headers={"content-type": "application/json"},
    )
    assert error(r, 400)["details"]["field"] == "amount"
    r = http.post(
        f"/custom-tables/{table}/insert",
        content=f'{{"invoice": "A", "qty": {2**63}}}'.encode(),
        headers={"content-type": "application/json"},
    )
    assert error(r, 400)["details"]["field"] == "qty"
    big = http.post(f"/custom-tables/{table}/insert", json={"invoice": "B", "amount": 2**70})
    assert big.status_code == 201 and big.json()["amount"] == float(2**70)
    for bad in ('{"id": 99999999999999999999}', '{"id": 0}', '{"id": "1"}'):
        error(http.get(f"/custom-tables/{table}/rows", params={"filter": bad}), 400)
    assert rows(http, filter=f'{{"id": {big.json()["id"]}}}')["total"] == 1


def test_concurrent_upserts_of_one_key_make_one_row(http, org, table) -> None:
    from concurrent.futures import ThreadPoolExecutor

    oid = org_id(org)

    def upsert(n: int) -> int:
        with connection():
            row = {"invoice": "SAME", "qty": n}
            return tables.upsert_row(oid, table, ["invoice"], row, f"run:{n}")["id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(upsert, range(16)))
    assert len(set(ids)) == 1
    assert rows(http, filter='{"invoice": "SAME"}')["total"] == 1
    ops = [e["operation"] for e in http.get(f"/custom-tables/{table}/audit").json()["entries"]]
    assert ops.count("insert") == 1 and ops.count("update") == 15


def test_a_key_holding_nul_is_named_without_it(http, table) -> None:
    # the validation message names the key at fault ('where.<key>'); the published 400 says
    # its message is text without U+0000, so the NUL is written as `\u0000`
    r = http.put(f"/custom-tables/{table}/update", json={"where": {"a\x00b": [1]}, "values": {}})
    body = error(r, 400)
    assert "\x00" not in body["message"] and "a\\u0000b" in body["message"], body
