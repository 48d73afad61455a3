"""The matcher: exact keys, amount tolerance, date window, fuzzy descriptions, rules, the
one-to-one choice of the best candidate, and the output keys."""

from __future__ import annotations

import pytest

from agentyard.hyphen import matcher

INVOICES = [
    {
        "invoice_id": "I1",
        "po_number": "PO-1",
        "vendor_id": "V1",
        "vendor_name": "Acme Corp",
        "amount": 100.00,
        "date": "2026-01-10",
    },
    {
        "invoice_id": "I2",
        "po_number": "PO-2",
        "vendor_id": "V2",
        "vendor_name": "Globex Inc",
        "amount": 250.00,
        "date": "2026-01-12",
    },
    {
        "invoice_id": "I3",
        "po_number": "PO-3",
        "vendor_id": "V3",
        "vendor_name": "Initech",
        "amount": 75.00,
        "date": "2026-01-15",
    },
    {
        "invoice_id": "I4",
        "po_number": "PO-4",
        "vendor_id": "V4",
        "vendor_name": "Umbrella",
        "amount": 500.00,
        "date": "2026-01-01",
    },
]
PAYMENTS = [
    {
        "payment_id": "P2",
        "po_number": "PO-2",
        "vendor_id": "V2",
        "vendor_name": "GLOBEX, Inc.",
        "amount": 250.01,
        "date": "2026-01-14",
    },
    {
        "payment_id": "P1",
        "po_number": "PO-1",
        "vendor_id": "V1",
        "vendor_name": "Acme Corporation",
        "amount": 100.00,
        "date": "2026-01-11",
    },
    {
        "payment_id": "P3",
        "po_number": "PO-3",
        "vendor_id": "V3",
        "vendor_name": "Initech",
        "amount": 80.00,
        "date": "2026-01-15",
    },
    {
        "payment_id": "P4",
        "po_number": "PO-4",
        "vendor_id": "V4",
        "vendor_name": "Umbrella",
        "amount": 500.00,
        "date": "2026-02-20",
    },
    {
        "payment_id": "P9",
        "po_number": "PO-9",
        "vendor_id": "V9",
        "vendor_name": "Nobody",
        "amount": 1.00,
        "date": "2026-01-01",
    },
]
PROPS = {
    "matchOn": ["po_number", "vendor_id"],
    "tolerance": 0.02,
    "dateWindowDays": 5,
    "fuzzyThreshold": 60,
    "descriptionKey": "vendor_name",
}


def test_invoice_reconciliation():
    result = matcher.match(INVOICES, PAYMENTS, matcher.spec_from(PROPS))
    pairs = {(m["left"]["invoice_id"], m["right"]["payment_id"]) for m in result["matched"]}
    assert pairs == {("I1", "P1"), ("I2", "P2")}
    assert [i["invoice_id"] for i in result["unmatchedLeft"]] == ["I3", "I4"]  # amount, date
    assert [p["payment_id"] for p in result["unmatchedRight"]] == ["P3", "P4", "P9"]


def test_fuzzy_threshold_rejects_dissimilar_names():
    props = {**PROPS, "fuzzyThreshold": 95}
    result = matcher.match(INVOICES[:2], PAYMENTS[:2], matcher.spec_from(props))
    assert result["matched"] == []


def test_best_candidate_wins_and_is_used_once():
    left = [{"k": 1, "amount": 10}, {"k": 1, "amount": 10}]
    right = [{"k": 1, "amount": 10.5}, {"k": 1, "amount": 10.0}]
    spec = matcher.spec_from({"matchOn": ["k"], "tolerance": 1})
    result = matcher.match(left, right, spec)
    assert [m["right"]["amount"] for m in result["matched"]] == [10.0, 10.5]


def test_rules_and_output_keys():
    spec = matcher.spec_from({"rules": [{"type": "exact", "field": "ref", "rightField": "memo"}]})
    result = matcher.match([{"ref": "x"}, {"ref": "y"}], [{"memo": "y"}], spec)
    assert result["matched"][0]["left"] == {"ref": "y"}
    assert matcher.output_keys({"outputMatched": "ok"}) == ("ok", "unmatchedLeft", "unmatchedRight")


@pytest.mark.parametrize(
    "props",
    [
        {"matchOn": ["a", "b"] + [1]},
        {"tolerance": -1},
        {"fuzzyThreshold": 101},
        {"rules": [{"type": "weird", "field": "a"}]},
    ],
)
def test_bad_properties(props):
    with pytest.raises(matcher.MatcherError):
        matcher.spec_from(props)
