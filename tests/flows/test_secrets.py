"""Values marked secret never reach the stored context, step records or traces."""

from __future__ import annotations

import json

from agentyard import flows
from agentyard.flows.secrets import Secrets
from tests.flows.conftest import records, start, trace, wait_status
from tests.flows.steps import VAULT

TOKEN = VAULT["api_token"]


def test_a_secret_is_redacted_everywhere(consumer, engine, tenant):
    definition = {
        "steps": [
            {"type": "secret_call", "props": {"token": "vault:api_token"}, "output_key": "call"},
            {"type": "echo", "props": {"seen": "@call.authorization"}, "output_key": "later"},
            {
                "type": "fail",
                "props": {"message": "upstream said: bad token {{ call.authorization }}"},
            },
        ],
        "output": "@call",
    }
    run = wait_status(start(engine, tenant, definition), "failed")
    assert run.context["call"] == {"authorization": f"Bearer {flows.REDACTED}", "ok": True}
    assert run.context["later"] == {"seen": f"Bearer {flows.REDACTED}"}
    assert run.error["message"] == f"upstream said: bad token Bearer {flows.REDACTED}"
    events = trace(run.id)
    assert "calling" in {e.kind for e in events}
    stored = json.dumps(
        [run.context, run.output, run.error]
        + [[r.input, r.output, r.error] for r in records(run.id).values()]
        + [e.data for e in events]
    )
    assert TOKEN not in stored
    assert flows.REDACTED in stored


def test_redaction_reaches_keys_and_nested_values():
    secrets = Secrets()
    secrets.add(TOKEN)
    assert secrets.redact({"a": [f"x{TOKEN}y", 1], TOKEN: None}) == {
        "a": [f"x{flows.REDACTED}y", 1],
        flows.REDACTED: None,
    }
