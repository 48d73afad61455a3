"""Hyphen end to end: a workflow with an approval step waits for a human, is approved, completes.

    python examples/hyphen.py [sk-hyp-...]      # or HYPHEN_KEY; else a key is minted

Create the workflow (validated whole on create), execute it (202 with a run id), poll its
status until it pauses on the approval, approve step 0, poll until it completes.
"""

from __future__ import annotations

import secrets
import time

import httpx
from _kit import BASE, expect, key, step

FINAL = ("completed", "failed", "cancelled")


def wait_for(hy: httpx.Client, run_id: str, wanted: str) -> dict:
    """Poll the run's status until it is `wanted`; exit if it ends otherwise."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = expect(hy.get(f"/runs/{run_id}/status"), 200)
        if state["status"] == wanted:
            return state
        if state["status"] in FINAL:
            raise SystemExit(f"run {run_id} ended {state['status']}: {state}")
        time.sleep(0.2)
    raise SystemExit(f"run {run_id} did not reach {wanted}")


def main() -> None:
    hy = httpx.Client(
        base_url=f"{BASE}/hyphen",
        headers={"Authorization": f"Bearer {key('hyphen', 'HYPHEN_KEY')}"},
        timeout=60,
    )
    definition = {
        "actions": [
            {"type": "PbotApproval", "properties": {"comment": "Approve ${{input.amount}}?"}}
        ]
    }
    name = f"expense_{secrets.token_hex(3)}"
    workflow = expect(hy.post("/workflows", json={"name": name, "definition": definition}), 201)
    step(f"workflow created: {workflow['id']} ({name})")

    run_id = expect(
        hy.post(f"/workflows/{workflow['id']}/execute", json={"input": {"amount": 120}}), 202
    )["run_id"]
    step(f"run started: {run_id}")
    paused = wait_for(hy, run_id, "paused")
    step(f"run paused, waiting for approval: {paused['pending_approval']['comment']!r}")

    expect(hy.post(f"/approvals/{run_id}/0", json={"approved": True, "comment": "ok"}), 200)
    step("approved step 0")
    done = wait_for(hy, run_id, "completed")
    step(f"run {run_id} {done['status']} (approved: {done['context'].get('__approved')})")
    step("done")


if __name__ == "__main__":
    main()
