"""Context references and templates: @paths, specials, nested paths, .length, {{ }}, and
orgconfig secrets marked secret."""

from __future__ import annotations

import pytest

from agentyard.flows import Scope, StepFailed
from agentyard.hyphen import context


@pytest.fixture
def scope(monkeypatch):
    vault = {("org", "api", "stripe"): "sk_live_123", ("org", "db", "pg"): "postgresql://x"}
    monkeypatch.setattr(context, "secret_lookup", [lambda o, k, n: vault.get((o, k, n))])
    data = {
        "input": {"amount": 42.5, "lines": [{"sku": "A"}, {"sku": "B"}], "name": "Ada"},
        "exception": {"invoice_id": "INV-9"},
        "agentResult": {"answer": "ok"},
        "__approved": False,
        "__comment": "no",
    }
    return Scope(data, "run-abc", "org")


def test_paths(scope):
    r = context.resolve
    assert r("@input.amount", scope) == 42.5
    assert r("@input.lines.1.sku", scope) == "B"
    assert r("@input.lines[0].sku", scope) == "A"
    assert r("@input.lines.length", scope) == 2
    assert r("@exception.invoice_id", scope) == "INV-9"
    assert r("@agentResult", scope) == {"answer": "ok"}
    assert r("@__run_id", scope) == "run-abc"
    assert r("@__approved", scope) is False
    assert r("@__comment", scope) == "no"
    assert r("@now", scope).endswith("Z")
    assert r("@input.nothing.here", scope) is None
    assert r({"a": ["@input.name", 1]}, scope) == {"a": ["Ada", 1]}


def test_templates(scope):
    r = context.resolve
    assert r("Pay ${{input.amount}} to {{ input.name }}", scope) == "Pay $42.5 to Ada"
    assert r("{{exception.invoice_id}}/{{__run_id}}", scope) == "INV-9/run-abc"
    assert r("{{input.missing}}!", scope) == "!"
    assert r("{{input.lines}}", scope) == '[{"sku":"A"},{"sku":"B"}]'


def test_orgconfig_secrets_are_marked(scope):
    assert context.resolve("orgconfig:api:stripe", scope) == "sk_live_123"
    assert context.resolve("Bearer orgconfig:api:stripe", scope) == "Bearer sk_live_123"
    assert scope.secrets.redact({"h": "Bearer sk_live_123"}) == {"h": "Bearer [REDACTED]"}
    with pytest.raises(StepFailed, match="orgconfig:api:absent is not set"):
        context.resolve("orgconfig:api:absent", scope)


def test_references_are_listed_with_their_place():
    found = list(context.references({"a": "@input.x", "b": ["x {{ y.z }}"]}))
    assert found == [("a", "input.x"), ("b[0]", "y.z")]
