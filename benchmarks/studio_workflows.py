"""What HASP Studio workflows cost: saving one (validate + compile), an inbound webhook call
(signature check, receipt, a run started on the engine), and firing due schedules.

Everything runs in this one process on 127.0.0.1: agentyard (`create_app` on uvicorn in a
thread, a temporary SQLite data dir) and an httpx client. It prints p50/p99 of:

- `workflow_format.check` on a 50-step definition, in-process;
- `POST /projects/{id}/workflows` with that definition (cookie + `X-CSRF-Token`);
- `POST /webhooks/{id}/inbound` signed (`X-Hasp-Signature-256`): a receipt and a run started
  (queued: no worker runs them here);
- `schedules.fire_due` with N due workflows, per workflow fired.

Figures only: nothing asserts on timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import json
import sys
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from _common import latency_row, serve_in_thread, timed, workdir  # noqa: E402

API = "/hasp-studio/api/internal"

BIG = {
    "trigger": {"type": "webhook"},
    "steps": [
        {"id": f"s{i}", "type": "ai_chat", "prompt": f"Step {i}: {{{{ input.note }}}}",
         "when": {"all": [{"exists": "@input"}, {"not_equals": ["@input.kind", "skip"]}]}}
        for i in range(50)
    ],
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="requests per row")
    args = parser.parse_args()
    from agentyard.app import create_app
    from agentyard.config import Settings
    from agentyard.core.store import connection
    from agentyard.hasp.studio import bootstrap, schedules, workflow_format
    from agentyard.hasp.studio.workflow_models import StudioWorkflow

    latency_row(
        "workflow_format.check (50 steps)", timed(args.n, lambda: workflow_format.check(BIG))
    )
    with workdir() as tmp:
        settings = Settings.from_env(data_dir=tmp, database_url=None, redis_url=None)
        with serve_in_thread(create_app(settings)) as base:
            with connection():
                user, password = bootstrap.create_user("bench", "bench@example.org", "owner")
            with httpx.Client(base_url=base + API, timeout=30) as http:
                creds = {"email": user.email, "password": password}
                csrf = http.post("/auth/login", json=creds).json()["data"]["csrf_token"]
                h = {"X-CSRF-Token": csrf}
                pid = http.post("/projects", json={"name": "Bench"}, headers=h).json()["data"]["id"]
                count = iter(range(10**9))

                def save() -> None:
                    body = {"name": f"wf {next(count)}", "definition": BIG}
                    http.post(f"/projects/{pid}/workflows", json=body, headers=h).raise_for_status()

                latency_row("POST /projects/{id}/workflows (50 steps)", timed(args.n, save))
                wf = http.post(
                    f"/projects/{pid}/workflows",
                    json={"name": "hook", "definition": BIG}, headers=h,
                ).json()["data"]  # fmt: skip
                hook = http.post(
                    f"/projects/{pid}/webhooks",
                    json={"direction": "inbound", "name": "in", "workflow_id": wf["id"]},
                    headers=h,
                ).json()["data"]  # fmt: skip
                body = json.dumps({"note": "hello", "kind": "order"}).encode()
                sig = (
                    "sha256=" + hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
                )
                headers = {"Content-Type": "application/json", "X-Hasp-Signature-256": sig}
                url = f"/webhooks/{hook['id']}/inbound"

                def inbound() -> None:
                    assert http.post(url, content=body, headers=headers).status_code == 202

                latency_row("POST /webhooks/{id}/inbound (receipt + run)", timed(args.n, inbound))
                scheduled = {"trigger": {"type": "schedule", "cron": "* * * * *"},
                             "steps": BIG["steps"][:3]}  # fmt: skip
                for i in range(args.n):
                    http.post(
                        f"/projects/{pid}/workflows",
                        json={"name": f"cron {i}", "definition": scheduled}, headers=h,
                    ).raise_for_status()  # fmt: skip
            with connection():
                due = max(
                    w.next_fire_at
                    for w in StudioWorkflow.select().where(
                        StudioWorkflow.trigger_type == "schedule"
                    )
                )
                start = time.perf_counter()
                fired = schedules.fire_due(due + dt.timedelta(seconds=1))
                took = time.perf_counter() - start
            per = took / max(1, len(fired)) * 1000
            print(f"{'schedules.fire_due':<44} fired {len(fired)} in {took * 1000:.1f} ms "
                  f"({per:.2f} ms per run started)")  # fmt: skip


if __name__ == "__main__":
    main()
