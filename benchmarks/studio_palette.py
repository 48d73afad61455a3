"""What HASP Studio's palette and integration test cost.

In this one process on 127.0.0.1: agentyard (`create_app` on uvicorn in a thread, a temporary
SQLite data dir) and an httpx client signed in as an org owner. Prints p50/p99 of
`POST /palette/query` over an org with `--projects` projects and `--integrations`
integrations (every candidate is scored with rapidfuzz on each query), and of
`POST /integrations/{id}/test` for an HTTP integration pointing at a local HTTP server
(the SSRF guard, one GET, the audit entry). Figures only: nothing asserts on timings.
"""

from __future__ import annotations

import argparse
import http.server
import sys
import threading
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from _common import latency_row, serve_in_thread, timed, workdir  # noqa: E402

API = "/hasp-studio/api/internal"


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="requests per row")
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--integrations", type=int, default=100)
    args = parser.parse_args()
    from agentyard.app import create_app
    from agentyard.config import Settings
    from agentyard.core.store import connection
    from agentyard.hasp.studio import bootstrap

    local = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=local.serve_forever, daemon=True).start()
    with workdir() as tmp:
        settings = Settings.from_env(
            data_dir=tmp, database_url=None, redis_url=None, webhook_allow_private="127.0.0.1/32"
        )
        with serve_in_thread(create_app(settings)) as base:
            with connection():
                user, password = bootstrap.create_user("bench", "bench@example.org", "owner")
            with httpx.Client(base_url=base + API, timeout=60) as h:
                r = h.post("/auth/login", json={"email": user.email, "password": password})
                h.headers["X-CSRF-Token"] = r.json()["data"]["csrf_token"]
                org = user.tenant_id
                for i in range(args.projects):
                    h.post("/projects", json={"name": f"Clinic {i} intake"}).raise_for_status()
                for i in range(args.integrations):
                    h.post(f"/orgs/{org}/integrations", json={
                        "name": f"EHR {i}", "kind": "http",
                        "config": {"base_url": f"http://127.0.0.1:{local.server_address[1]}"},
                    }).raise_for_status()  # fmt: skip
                first = h.get(f"/orgs/{org}/integrations", params={"limit": 1}).json()["data"][0]
                label = f"POST /palette/query ({args.projects} projects, {args.integrations} int.)"

                def query() -> None:
                    h.post("/palette/query", json={"query": "clinic 42 intke"}).raise_for_status()

                def test() -> None:
                    h.post(f"/integrations/{first['id']}/test").raise_for_status()

                latency_row(label, timed(args.n, query))
                latency_row(
                    "POST /integrations/{id}/test (http, local server)", timed(args.n, test)
                )
    local.shutdown()


if __name__ == "__main__":
    main()
