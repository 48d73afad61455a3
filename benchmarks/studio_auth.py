"""What HASP Studio's sign-in costs: argon2id, login, and a request per credential kind.

Everything runs in this one process on 127.0.0.1: agentyard (`create_app` on uvicorn in a
thread, a temporary SQLite data dir, sign-in throttles lifted) and an httpx client. It prints
p50/p99 of:

- argon2id hashing and verification of one password (argon2-cffi defaults), in-process;
- `POST /hasp-studio/api/internal/auth/login` (one argon2 verification + a session row);
- `GET /hasp-studio/api/internal/projects` with the session cookie, and with a personal
  access token (`Authorization: Bearer`);
- `POST /hasp-studio/api/internal/projects` with the cookie + `X-CSRF-Token` (a write and an
  audit entry).

Figures only: nothing asserts on timings.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from _common import latency_row, serve_in_thread, timed, workdir  # noqa: E402

API = "/hasp-studio/api/internal"


@contextlib.contextmanager
def agentyard_in_process(data_dir: Path) -> Iterator[str]:
    from agentyard.app import create_app
    from agentyard.config import Settings

    settings = Settings.from_env(
        data_dir=data_dir,
        database_url=None,
        redis_url=None,
        hasp_studio_login_per_minute_account=10**9,
        hasp_studio_login_per_minute_ip=10**9,
    )
    with serve_in_thread(create_app(settings)) as base:
        yield base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="requests per row")
    args = parser.parse_args()
    from agentyard.core.store import connection
    from agentyard.hasp.studio import bootstrap, passwords

    stored = passwords.hash_password("correct horse battery staple")
    latency_row("argon2id hash (in-process)", timed(20, lambda: passwords.hash_password("x" * 16)))
    latency_row(
        "argon2id verify (in-process)",
        timed(20, lambda: passwords.verify(stored, "correct horse battery staple")),
    )
    with workdir() as tmp, agentyard_in_process(tmp) as base:
        with connection():
            user, password = bootstrap.create_user("bench", "bench@example.org", "owner")
        with httpx.Client(base_url=base + API, timeout=30) as http:
            creds = {"email": user.email, "password": password}

            def login() -> None:
                assert http.post("/auth/login", json=creds).status_code == 200

            counter = itertools.count()
            latency_row("POST /auth/login", timed(max(20, args.n // 4), login))
            csrf = http.post("/auth/login", json=creds).json()["data"]["csrf_token"]
            token = http.post(
                "/auth/tokens", json={"name": "bench"}, headers={"X-CSRF-Token": csrf}
            ).json()["data"]["token"]
            latency_row(
                "GET /projects (session cookie)",
                timed(args.n, lambda: http.get("/projects").raise_for_status()),
            )
            with httpx.Client(base_url=base + API, timeout=30) as bearer:
                headers = {"Authorization": f"Bearer {token}"}
                latency_row(
                    "GET /projects (personal access token)",
                    timed(
                        args.n, lambda: bearer.get("/projects", headers=headers).raise_for_status()
                    ),
                )
            latency_row(
                "POST /projects (cookie + X-CSRF-Token)",
                timed(
                    args.n,
                    lambda: http.post(
                        "/projects",
                        json={"name": f"Bench {next(counter)}"},
                        headers={"X-CSRF-Token": csrf},
                    ).raise_for_status(),
                ),
            )


if __name__ == "__main__":
    main()
