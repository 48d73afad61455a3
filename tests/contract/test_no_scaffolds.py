"""No operation of a complete surface is a scaffold, and every seed operation is mounted.

Every mounted surface (agentyard/surfaces.py) has every seed operation of the inventory
(../shared/inventory/operations.tsv) in its spec. A surface is marked `complete` when its issue
delivers it; from then on:
- no operation of its spec resolves to a `codegen.py` scaffold;
- asked over HTTP with a schema-valid request and a valid key, no operation answers 501.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import schemathesis

from agentyard import surfaces
from agentyard.specs import operations
from tests.kit.contract import first_valid_case
from tests.kit.tenants import caller_headers

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = ROOT.parent / "shared" / "inventory" / "operations.tsv"
MOUNTED = sorted(surfaces.SURFACES)
COMPLETE = sorted(name for name, s in surfaces.SURFACES.items() if s.complete)
# Seed operations (path prefixes) a surface's open issue leaves to a later one, allowed to be
# missing only while the surface is not `complete`. Every surface is complete: none is left.
DEFERRED: dict[str, tuple[str, ...]] = {}


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path.rstrip("/") or "/")


def seed_operations(surface: str) -> list[tuple[str, str]]:
    if not INVENTORY.exists():
        pytest.skip(f"seed inventory not found at {INVENTORY}")
    with INVENTORY.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [(r["method"].upper(), r["path"]) for r in rows if r["surface"] == surface]


@pytest.mark.parametrize("name", MOUNTED)
def test_every_seed_operation_is_in_the_spec(name: str) -> None:
    surface = surfaces.get(name)
    spec = surface.spec
    have = {(op.method.upper(), _shape(op.path)) for op in operations.operations(spec)}
    deferred = () if surface.complete else DEFERRED.get(name, ())
    missing = [
        f"{m} {p}"
        for m, p in seed_operations(name)
        if (m, _shape(p)) not in have and not p.startswith(deferred)
    ]
    assert not missing, f"{name}: seed operations missing from {spec.name}: {missing}"


@pytest.mark.parametrize("name", COMPLETE)
def test_no_operation_is_a_scaffold(name: str) -> None:
    report = operations.inspect(ROOT, [surfaces.get(name).spec])
    assert not report.problems
    unwritten = [f"{op.operation_id} ({op.label})" for op in report.missing + report.scaffolded]
    assert not unwritten, f"{name}: still scaffolds or missing: {unwritten}"


@pytest.mark.embedded_only  # a 501 is the handler's code, whatever the store
@pytest.mark.parametrize("name", COMPLETE)
def test_no_operation_answers_501(name: str, app) -> None:
    surface = surfaces.get(name)
    headers = caller_headers(name)
    schema = schemathesis.openapi.from_asgi(f"{surface.mount}/openapi.json", app)
    asked, unimplemented, authenticated = 0, [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        case = first_valid_case(operation)
        case.headers = {**(case.headers or {}), **headers}
        response = case.call()
        asked += 1
        authenticated += response.status_code != 401
        if response.status_code == 501:
            unimplemented.append(f"{operation.label}: {response.text[:200]}")
    assert asked == len(operations.operations(surface.spec))
    # the probe's credential is good: a handler behind it answered (else a 501 could hide)
    assert authenticated > asked // 2, f"{name}: {asked - authenticated} of {asked} answered 401"
    assert not unimplemented, f"{name}: operations answering 501: {unimplemented}"
