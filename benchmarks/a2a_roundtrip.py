"""What an A2A `message/send` round trip costs on the HASP org runtime: a blocking send that
starts a run of a published 3-step workflow (three model calls on the offline provider, the
PHI policy `allow`) and answers when it completed, at concurrency 1 and 16.

Everything runs in this one process on 127.0.0.1: agentyard (`create_app` on uvicorn in a
thread, a temporary SQLite data dir), its background job consumer (the runs), and an httpx
client. Each round trip is: authenticate the key, resolve the org and the published workflow,
check the input, start and audit the run, the run's three steps on a worker, the wait for the
run to settle, the Task. It prints p50/p99 per row. Figures only: nothing asserts on timings.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from _common import latency_row, serve_in_thread, timed, workdir  # noqa: E402

API = "/hasp-studio/api/internal"
THREE_STEPS = {
    "trigger": {"type": "agent", "description": "Summarise a note"},
    "steps": [
        {"id": "first", "type": "ai_chat", "prompt": "Summarise {{ input.note }}"},
        {"id": "second", "type": "ai_chat", "prompt": "Shorten {{ first.text }}"},
        {"id": "third", "type": "ai_chat", "prompt": "Title {{ second.text }}"},
    ],
    "output": {"summary": "@third.text"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="round trips per row")
    parser.add_argument("--workers", type=int, default=4, help="job consumer threads")
    args = parser.parse_args()
    from agentyard.app import create_app
    from agentyard.config import Settings
    from agentyard.core import jobs, keys
    from agentyard.core.keys import Tenant
    from agentyard.core.store import connection
    from agentyard.hasp import SURFACE as ORGS
    from agentyard.hasp import orgs
    from agentyard.hasp.runtime import bootstrap as runtime_keys
    from agentyard.hasp.studio import bootstrap
    from tests.hasp_studio.publishing import publish

    with workdir() as tmp:
        settings = Settings.from_env(
            data_dir=tmp, database_url=None, redis_url=None, hasp_requests_per_minute=10**8
        )
        app = create_app(settings)
        jobs.start_consumer(workers=args.workers, poll_interval=0.01, scheduler_interval=1)
        try:
            with serve_in_thread(app) as base:
                org = "bench"
                with connection():
                    user, password = bootstrap.create_user(org, "bench@example.org", "owner")
                    orgs.update(Tenant.get((Tenant.surface == ORGS) & (Tenant.name == org)),
                                {"phi_mode": "allow"})  # fmt: skip
                    key = runtime_keys.mint(
                        org, kind=keys.DEFAULT_KIND, scopes=None, name="bench", base_url=base
                    ).secret
                    with httpx.Client(base_url=base + API, timeout=60) as http:
                        creds = {"email": user.email, "password": password}
                        csrf = http.post("/auth/login", json=creds).json()["data"]["csrf_token"]
                        h = {"X-CSRF-Token": csrf}
                        project = http.post(
                            "/projects", json={"name": "Bench", "slug": "bench"}, headers=h
                        ).json()["data"]
                        http.post(
                            f"/projects/{project['id']}/workflows",
                            json={"name": "Summarise", "definition": THREE_STEPS}, headers=h,
                        ).raise_for_status()  # fmt: skip
                publish(project["id"])
                url = f"{base}/hasp-runtime/{org}/a2a/bench/summarise"
                headers = {"Authorization": f"Bearer {key}"}
                with httpx.Client(timeout=120, limits=httpx.Limits(max_connections=32)) as http:

                    def send() -> None:
                        body = {
                            "jsonrpc": "2.0",
                            "id": secrets.token_hex(4),
                            "method": "message/send",
                            "params": {
                                "message": {
                                    "role": "user",
                                    "kind": "message",
                                    "messageId": secrets.token_hex(8),
                                    "parts": [{"kind": "data", "data": {"note": "ankle sprain"}}],
                                }
                            },
                        }
                        r = http.post(url, json=body, headers=headers)
                        state = r.json()["result"]["status"]["state"]
                        assert state == "completed", r.text

                    send()  # warm-up
                    latency_row("message/send, 3-step workflow, concurrency 1", timed(args.n, send))
                    with ThreadPoolExecutor(16) as pool:
                        samples = [
                            s
                            for chunk in pool.map(
                                lambda _: timed(max(1, args.n // 16), send), range(16)
                            )
                            for s in chunk
                        ]
                    latency_row("message/send, 3-step workflow, concurrency 16", samples)
        finally:
            jobs.stop_consumer()


if __name__ == "__main__":
    main()
