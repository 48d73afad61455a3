"""Authenticated GETs of every surface against a Flask hello world, served the same way.

One representative authenticated GET per surface (AISP Hub `GET /api/v1/sessions` with
`X-AISP-Key`, HASP AI `GET /v1/models` with `x-api-key`, Harnesslayer `GET /v1/app/list` with a
`dk-` bearer key, Hyphen `GET /workflows` with an `sk-hyp-` bearer key), each loaded in turn
against one `agentyard serve`, then the bare Flask hello world on the same stack (uvicorn, or
gunicorn + N uvicorn workers) in the same run. Prints requests/s, p50/p99/max latency and the
agentyard/flask ratios.

`--backend postgres` runs agentyard on a scratch PostgreSQL database (created on the server of
`--database-url`, dropped at the end) and, with `--workers` above 1, on Redis (`--redis-url`)
for pub/sub, rate limits and jobs. Figures only: nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BENCH_ENV,
    HOST,
    HUB,
    Server,
    _agentyard_cmd,
    free_port,
    ms,
    percentile,
    register_session,
    workdir,
)
from sessions_throughput import FLASK_PATH, Result, flask_server, flask_wrapper, wrk_result

# surface -> (path, header name, header value format, key pattern in `agentyard serve` output)
TARGETS = {
    "aisp-hub": (HUB + "/sessions", "X-AISP-Key", "{key}", r"aisp_key_[0-9a-f]{32}"),
    "hasp-ai": ("/hasp-ai/v1/models", "x-api-key", "{key}", r"wa_live_[0-9a-f]{32}"),
    "harnesslayer": (
        "/harnesslayer/v1/app/list",
        "Authorization",
        "Bearer {key}",
        r"dk-[0-9a-f]{32}",
    ),
    "hyphen": ("/hyphen/workflows", "Authorization", "Bearer {key}", r"sk-hyp-[0-9a-f]{32}"),
}
FLASK = "flask"

RAISED_LIMITS = {  # no benchmark request is ever throttled
    **BENCH_ENV,
    "AGENTYARD_HASP_REQUESTS_PER_MINUTE": "100000000",
    "AGENTYARD_HARNESSLAYER_REQUESTS_PER_MINUTE": "100000000",
    "AGENTYARD_HYPHEN_REQUESTS_PER_MINUTE": "100000000",
}

WRK_LUA = """\
wrk.method = "GET"
wrk.headers["%(name)s"] = "%(value)s"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, " ..
    "\\"p99_us\\": %%d, \\"max_us\\": %%d, \\"non_2xx\\": %%d, \\"socket_errors\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


# --- load generators -------------------------------------------------------------------------


def run_wrk(
    wrk: str, url: str, header: tuple[str, str], args: argparse.Namespace, seconds: float, tmp: Path
) -> Result:
    script = tmp / "bench.lua"
    script.write_text(WRK_LUA % {"name": header[0], "value": header[1]})
    cmd = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{max(1, round(seconds))}s"]
    cmd += ["--timeout", "10s", "--latency", "-s", str(script), url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    return wrk_result(out)


async def _python_load(
    port: int, path: str, header: tuple[str, str], connections: int, seconds: float
) -> Result:
    from sessions_throughput import _connection_loop

    request = (
        f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{header[0]}: {header[1]}\r\n"
        "User-Agent: agentyard-bench\r\nAccept: */*\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    counts = {"non_2xx": 0, "socket_errors": 0}
    start = time.perf_counter()
    await asyncio.gather(
        *(
            _connection_loop(port, request, start + seconds, latencies, counts)
            for _ in range(connections)
        )
    )
    return Result(
        requests=len(latencies),
        seconds=time.perf_counter() - start,
        p50=percentile(latencies, 50),
        p99=percentile(latencies, 99),
        max=max(latencies, default=math.nan),
        **counts,
    )


def measure(
    args: argparse.Namespace,
    wrk: str | None,
    base: str,
    path: str,
    header: tuple[str, str],
    tmp: Path,
) -> Result:
    r = httpx.get(base + path, headers={header[0]: header[1]}, timeout=10)
    if r.status_code != 200:
        raise RuntimeError(f"GET {path} answered {r.status_code}: {r.text[:300]}")
    result = None
    for seconds in (args.warmup, args.duration):
        if seconds <= 0:
            continue
        if wrk:
            result = run_wrk(wrk, base + path, header, args, seconds, tmp)
        else:
            port = int(base.rsplit(":", 1)[1])
            load = _python_load(port, path, header, args.connections, seconds)
            try:
                import uvloop

                result = uvloop.run(load)
            except ImportError:
                result = asyncio.run(load)
    assert result is not None
    return result


# --- servers ---------------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A fresh PostgreSQL database on the server of `url`, dropped afterwards."""
    import psycopg2

    name = f"agentyard_bench_{secrets.token_hex(4)}"
    admin = psycopg2.connect(url)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(url)
        yield urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def access_log_on(args: argparse.Namespace) -> bool:
    """Whether agentyard writes its access lines: as Flask's stack does, unless asked."""
    return args.workers == 1 if args.access_log == "auto" else args.access_log == "on"


@contextlib.contextmanager
def agentyard(
    tmp: Path, args: argparse.Namespace, database_url: str | None, redis_url: str | None
) -> Iterator[tuple[str, dict[str, str]]]:
    """`agentyard serve` (every surface) with a fresh store; yields (base url, surface -> key)."""
    port = free_port()
    data_dir = tmp / "agentyard-data"
    data_dir.mkdir()
    env = {**os.environ, **RAISED_LIMITS, "AGENTYARD_DATA_DIR": str(data_dir)}
    env["PYTHONUNBUFFERED"] = "1"
    env["AGENTYARD_JOBS_QUEUE"] = f"bench-{secrets.token_hex(4)}"
    if not access_log_on(args):  # no access line: the level above INFO
        env["AGENTYARD_LOG_LEVEL"] = "WARNING"
    for var in ("DATABASE_URL", "REDIS_URL", "AGENTYARD_SURFACE"):
        env.pop(var, None)
    if database_url:
        env["DATABASE_URL"] = database_url
    if redis_url:
        env["REDIS_URL"] = redis_url
    cmd = [*_agentyard_cmd(), "serve", "--host", HOST, "--port", str(port)]
    cmd += ["--workers", str(args.workers)]
    server = Server("agentyard", cmd, env, tmp / "agentyard.log")
    try:
        base = f"http://{HOST}:{port}"
        server.wait_ready(base + "/aisp-hub/openapi.json", timeout=90)
        # the PHI scanner processes load their model at start: the first target is not loaded
        # while they take the cores
        print(f"server settled after {server.wait_settled():.1f} s", flush=True)
        found = {}
        for surface in args.surfaces:
            match = re.search(TARGETS[surface][3], server.log_text())
            if not match:
                raise RuntimeError(f"no {surface} dev key in the output:\n{server.log_text()}")
            found[surface] = match.group(0)
        yield base, found
    finally:
        server.stop()


def row(label: str, res: Result) -> str:
    return (
        f"{label:<44} {res.rps:>9.0f} {ms(res.p50):>9} {ms(res.p99):>9} {ms(res.max):>9} "
        f"{res.requests:>9} {res.non_2xx:>7} {res.socket_errors:>7}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--duration", type=float, default=5.0, help="timed run per target, s")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up run per target, s")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        choices=[1, 2, 3, 4],
        help="1 = uvicorn; N = gunicorn + N uvicorn workers (both apps)",
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="--backend postgres: a scratch database is created on this server",
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/0",
        help="--backend postgres with --workers > 1: pub/sub, limits, jobs",
    )
    parser.add_argument(
        "--surfaces",
        default=",".join(TARGETS),
        help="comma-separated subset of " + ", ".join(TARGETS),
    )
    parser.add_argument("--sessions", type=int, default=5, help="AISP sessions registered first")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument(
        "--access-log",
        choices=["auto", "on", "off"],
        default="auto",
        help="agentyard's access lines; auto: as Flask's stack has them (on with 1 process, "
        "off under gunicorn, whose uvicorn workers write none)",
    )
    args = parser.parse_args()
    args.surfaces = [s for s in args.surfaces.split(",") if s]
    if unknown := [s for s in args.surfaces if s not in TARGETS]:
        parser.error(f"unknown surface(s) {', '.join(unknown)}")
    if args.connections < 1 or not 0 < args.duration <= 600 or args.warmup > 60:
        parser.error("need --connections >= 1, 0 < --duration <= 600, --warmup <= 60")

    wrk = shutil.which("wrk") if args.loadgen in ("auto", "wrk") else None
    if args.loadgen == "wrk" and not wrk:
        parser.error("wrk is not on PATH (apt-get install wrk), or use --loadgen python")
    gen = f"wrk ({args.threads} thread(s))" if wrk else "built-in Python asyncio client"
    redis_url = args.redis_url if args.backend == "postgres" and args.workers > 1 else None
    stack = (
        "uvicorn, 1 process"
        if args.workers == 1
        else (f"gunicorn + {args.workers} uvicorn_worker.UvicornWorker processes")
    )
    print(
        f"load generator : {gen}, {args.connections} keep-alive connections, "
        f"{args.warmup:g} s warm-up + {args.duration:g} s timed per target"
    )
    print(
        f"server stack   : {stack} for both apps (Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start)"
    )
    print(f"agentyard store: {args.backend}" + (", Redis pub/sub" if redis_url else ""))
    flask_log = "uvicorn's" if args.workers == 1 else "none (gunicorn's uvicorn workers)"
    ours = "on" if access_log_on(args) else "off (AGENTYARD_LOG_LEVEL=WARNING)"
    print(f"access log     : Flask {flask_log}; agentyard {ours}")
    print(f"flask wrapper  : {flask_wrapper()}")
    print()

    results: dict[str, Result] = {}
    with workdir() as tmp, contextlib.ExitStack() as stack_:
        database_url = None
        if args.backend == "postgres":
            database_url = stack_.enter_context(scratch_database(args.database_url))
        with agentyard(tmp, args, database_url, redis_url) as (base, found):
            if "aisp-hub" in found:
                with httpx.Client(base_url=base, timeout=10) as client:
                    for i in range(args.sessions):
                        register_session(client, found["aisp-hub"], f"bench-{i:03d}")
            for surface in args.surfaces:
                path, name, value, _ = TARGETS[surface]
                header = (name, value.format(key=found[surface]))
                results[surface] = measure(args, wrk, base, path, header, tmp)
        with flask_server(tmp, args.workers) as base:
            results[FLASK] = measure(args, wrk, base, FLASK_PATH, ("X-AISP-Key", "x" * 41), tmp)

    print(
        f"{'target':<44} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9} "
        f"{'requests':>9} {'non-2xx':>7} {'sockerr':>7}"
    )
    for surface in args.surfaces:
        print(row(f"{surface} GET {TARGETS[surface][0]}", results[surface]))
    flask = results[FLASK]
    print(row(f"flask hello world GET {FLASK_PATH}", flask))
    print()
    for surface in args.surfaces:
        res = results[surface]
        print(
            f"ratio {surface}/flask: throughput {res.rps / flask.rps:.3f}x, "
            f"p50 {res.p50 / flask.p50:.2f}x, p99 {res.p99 / flask.p99:.2f}x"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    if any(r.non_2xx or r.socket_errors for r in results.values()):
        print("note: some responses were errors (see non-2xx / sockerr columns)")


if __name__ == "__main__":
    main()
