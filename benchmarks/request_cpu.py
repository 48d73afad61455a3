"""CPU per authenticated request of the app alone: no HTTP server, no load generator.

Calls the ASGI app (`create_app`, every surface, SQLite in a temporary data dir) directly from
one asyncio loop in this process, `--callers` at a time, with `GET /aisp-hub/api/v1/sessions`
(`X-AISP-Key`, `--sessions` sessions registered first), and prints the process's CPU time per
request (user + system, every thread: the request threadpool included) for each of `--rounds`
rounds of `--requests` requests. Pin it to one core (`taskset -c 0 python
benchmarks/request_cpu.py`) to compare two versions of the code: unpinned, the request threads
and the event loop hand the GIL across cores and the same code uses about twice the CPU.
`--profile` prints cProfile's top functions (the loop's thread only; use `py-spy record --gil`
for every thread). Figures only: nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import logging
import os
import pstats
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_ENV, workdir

PATH = "/aisp-hub/api/v1/sessions"


async def call(app: Any, method: str, key: str, body: bytes = b"") -> tuple[int, bytes]:
    """One request through the ASGI app: (status, body)."""
    headers = [(b"x-aisp-key", key.encode())]
    if body:
        headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    received = False
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:  # the request is complete: wait as a server waits for a disconnect
            await asyncio.Event().wait()
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer["status"], answer["body"]


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """The app's lifespan startup before, and its shutdown after (as uvicorn runs them)."""
    events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await events.put({"type": "lifespan.startup"})
    ready = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            ready.set()

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.ensure_future(app(scope, events.get, send))
    await asyncio.wait_for(ready.wait(), 60)
    try:
        yield
    finally:
        await events.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(task, 60)


async def run(args: argparse.Namespace) -> None:
    from agentyard.aisp.bootstrap import KEYS
    from agentyard.app import create_app
    from agentyard.config import Settings
    from agentyard.core.store import connection

    app = create_app(Settings.from_env())
    logging.getLogger().setLevel(logging.WARNING)  # no access line per request
    with connection():
        key = KEYS.mint("bench", kind=KEYS.kind, scopes=None, name="bench", base_url="").secret
    async with lifespan(app):
        await measure(app, key, args)


async def measure(app: Any, key: str, args: argparse.Namespace) -> None:
    """Register the sessions, warm up, then time the rounds."""
    for i in range(args.sessions):
        payload = {"name": f"bench-{i:03d}", "kind": "interactive", "realm": "bench"}
        status, text = await call(app, "POST", key, json.dumps(payload).encode())
        if status != 200:
            raise SystemExit(f"registering a session: {status} {text!r}")

    async def caller(count: int) -> None:
        for _ in range(count):
            status, text = await call(app, "GET", key)
            if status != 200:
                raise SystemExit(f"GET {PATH}: {status} {text!r}")

    share = max(1, args.requests // args.callers)
    total = share * args.callers
    await asyncio.gather(*(caller(max(1, share // 10)) for _ in range(args.callers)))  # warm-up
    profile = cProfile.Profile() if args.profile else None
    for number in range(1, args.rounds + 1):
        before, wall = os.times(), time.perf_counter()
        if profile is not None:
            profile.enable()
        await asyncio.gather(*(caller(share) for _ in range(args.callers)))
        if profile is not None:
            profile.disable()
        after, wall = os.times(), time.perf_counter() - wall
        cpu = after.user - before.user + after.system - before.system
        print(
            f"round {number}: {total} requests, CPU {cpu / total * 1e6:.0f} us/request, "
            f"wall {wall / total * 1e6:.0f} us/request"
        )
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.profile)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--requests", type=int, default=6000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--callers", type=int, default=8, help="requests in flight at once")
    parser.add_argument("--sessions", type=int, default=10, help="sessions on the page")
    parser.add_argument("--profile", type=int, default=0, help="print the top N of cProfile")
    args = parser.parse_args()
    if not (1 <= args.callers <= 256 and args.requests >= 1 and 1 <= args.rounds <= 100):
        parser.error("need 1 <= --callers <= 256, --requests >= 1, 1 <= --rounds <= 100")
    if not 0 <= args.sessions <= 100:
        parser.error("--sessions takes 0..100 (the page's default limit)")
    with workdir() as tmp:
        os.environ.update(BENCH_ENV)
        os.environ["AGENTYARD_DATA_DIR"] = str(tmp)
        for var in ("DATABASE_URL", "REDIS_URL", "AGENTYARD_SURFACE"):
            os.environ.pop(var, None)
        print(f"python {sys.version.split()[0]}, CPUs this process may use: ", end="")
        print(f"{len(os.sched_getaffinity(0))} of {os.cpu_count()}")
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
