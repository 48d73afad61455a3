"""Throughput of authenticated `GET /aisp-hub/api/v1/sessions` against a Flask hello world.

Both servers run on the same stack in the same run: agentyard through `agentyard serve`
(uvicorn, one process; gunicorn + uvicorn workers with --workers N) and a bare Flask hello world
wrapped as ASGI (see flask_hello.py: a2wsgi when installed, else Starlette's
WSGIMiddleware) on uvicorn (gunicorn + uvicorn workers with the same --workers N). Each is
loaded in turn with the same number of keep-alive connections; the script prints requests/s,
p50 and p99 latency for each and the agentyard/flask ratio.

The load generator is `wrk` when it is on PATH (a small Lua script sets `X-AISP-Key` and
reports the percentiles), otherwise a built-in asyncio HTTP/1.1 keep-alive client. Figures
only: nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BENCH_DIR,
    BENCH_ENV,
    HOST,
    HUB,
    Server,
    agentyard_server,
    free_port,
    ms,
    percentile,
    register_session,
    workdir,
)

SESSIONS_PATH = HUB + "/sessions"
FLASK_PATH = "/hello"

WRK_LUA = """\
wrk.method = "GET"
wrk.headers["X-AISP-Key"] = "%(key)s"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, " ..
    "\\"p99_us\\": %%d, \\"max_us\\": %%d, \\"non_2xx\\": %%d, \\"socket_errors\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass
class Result:
    requests: int
    seconds: float
    p50: float  # seconds
    p99: float
    max: float
    non_2xx: int
    socket_errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else math.nan


# --- load generators -------------------------------------------------------------------------


def run_wrk(
    wrk: str, url: str, key: str, connections: int, threads: int, seconds: float, tmp: Path
) -> Result:
    """One wrk run; parses the Lua `done` line (wrk --latency also prints its own table)."""
    script = tmp / "bench.lua"
    script.write_text(WRK_LUA % {"key": key})
    cmd = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    return wrk_result(out)


def wrk_result(out: subprocess.CompletedProcess[str]) -> Result:
    """The figures of a wrk run with WRK_LUA's `done` hook (its `BENCH_RESULT {json}` line)."""
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            data = json.loads(line[len("BENCH_RESULT ") :])
            return Result(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                p50=data["p50_us"] / 1e6,
                p99=data["p99_us"] / 1e6,
                max=data["max_us"] / 1e6,
                non_2xx=data["non_2xx"],
                socket_errors=data["socket_errors"],
            )
    raise RuntimeError(f"wrk gave no result (exit {out.returncode}):\n{out.stdout}{out.stderr}")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one HTTP/1.1 response; (status, server keeps the connection open)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    keep_alive = b"\r\nconnection: close" not in lower
    marker = lower.find(b"\r\ncontent-length:")
    if marker >= 0:
        end = lower.index(b"\r\n", marker + 2)
        await reader.readexactly(int(lower[marker + 17 : end]))
    elif b"\r\ntransfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.read()
        keep_alive = False
    return status, keep_alive


async def _connection_loop(
    port: int, request: bytes, deadline: float, latencies: list[float], counts: dict[str, int]
) -> None:
    reader = writer = None
    try:
        while time.perf_counter() < deadline:
            if writer is None:
                reader, writer = await asyncio.open_connection(HOST, port)
            start = time.perf_counter()
            try:
                writer.write(request)
                status, keep_alive = await asyncio.wait_for(_read_response(reader), 10)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                counts["socket_errors"] += 1
                writer.close()
                reader = writer = None
                continue
            latencies.append(time.perf_counter() - start)
            if not 200 <= status < 400:
                counts["non_2xx"] += 1
            if not keep_alive:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


async def _python_load(port: int, path: str, key: str, connections: int, seconds: float) -> Result:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nX-AISP-Key: {key}\r\n"
        "User-Agent: agentyard-bench\r\nAccept: */*\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    counts = {"non_2xx": 0, "socket_errors": 0}
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(
        *(_connection_loop(port, request, deadline, latencies, counts) for _ in range(connections))
    )
    elapsed = time.perf_counter() - start
    return Result(
        requests=len(latencies),
        seconds=elapsed,
        p50=percentile(latencies, 50),
        p99=percentile(latencies, 99),
        max=max(latencies, default=math.nan),
        **counts,
    )


def run_python(port: int, path: str, key: str, connections: int, seconds: float) -> Result:
    """The built-in load generator: `connections` keep-alive sockets on one event loop."""
    try:
        import uvloop

        return uvloop.run(_python_load(port, path, key, connections, seconds))
    except ImportError:
        return asyncio.run(_python_load(port, path, key, connections, seconds))


# --- servers ---------------------------------------------------------------------------------


@contextlib.contextmanager
def flask_server(tmp: Path, workers: int) -> Iterator[str]:
    """The Flask hello world on the same stack as `agentyard serve --workers N`."""
    port = free_port()
    env = {**os.environ, **BENCH_ENV, "PYTHONUNBUFFERED": "1"}
    if workers == 1:
        cmd = [sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH_DIR)]
        cmd += ["--host", HOST, "--port", str(port), "--log-level", "info", "flask_hello:app"]
    else:
        cmd = [sys.executable, "-m", "gunicorn", "--chdir", str(BENCH_DIR)]
        cmd += ["-b", f"{HOST}:{port}", "-w", str(workers), "-k", "uvicorn_worker.UvicornWorker"]
        cmd += ["--graceful-timeout", "10", "flask_hello:app"]
    server = Server("flask", cmd, env, tmp / "flask.log")
    try:
        base = f"http://{HOST}:{port}"
        server.wait_ready(base + FLASK_PATH)
        yield base
    finally:
        server.stop()


def flask_wrapper() -> str:
    """Which WSGI-to-ASGI wrapper flask_hello.py picks in this environment."""
    import flask_hello

    return flask_hello.WRAPPER


# --- main ------------------------------------------------------------------------------------


def measure(
    args: argparse.Namespace, wrk: str | None, base: str, path: str, key: str, tmp: Path
) -> Result:
    port = int(base.rsplit(":", 1)[1])
    r = httpx.get(base + path, headers={"X-AISP-Key": key}, timeout=10)
    if r.status_code != 200:
        raise RuntimeError(f"GET {path} answered {r.status_code}: {r.text[:300]}")
    runs = []
    for seconds in (args.warmup, args.duration):
        if seconds <= 0:
            continue
        if wrk:
            runs.append(
                run_wrk(wrk, base + path, key, args.connections, args.threads, seconds, tmp)
            )
        else:
            runs.append(run_python(port, path, key, args.connections, seconds))
    return runs[-1]


def row(label: str, res: Result) -> str:
    return (
        f"{label:<50} {res.rps:>10.0f} {ms(res.p50):>9} {ms(res.p99):>9} {ms(res.max):>9} "
        f"{res.requests:>9} {res.non_2xx:>7} {res.socket_errors:>7}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--duration", type=float, default=10.0, help="timed run, seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up run, seconds")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes: 1 = uvicorn; N > 1 = gunicorn with N uvicorn workers (both apps)",
    )
    parser.add_argument("--sessions", type=int, default=5, help="sessions registered first")
    parser.add_argument(
        "--loadgen",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="auto = wrk when on PATH, else the built-in asyncio client",
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    args = parser.parse_args()
    if not 1 <= args.workers <= 64 or args.connections < 1 or args.duration <= 0:
        parser.error("need 1 <= --workers <= 64, --connections >= 1, --duration > 0")
    if args.duration > 600 or args.warmup > 60:
        parser.error("keep --duration <= 600 and --warmup <= 60")

    wrk = shutil.which("wrk") if args.loadgen in ("auto", "wrk") else None
    if args.loadgen == "wrk" and not wrk:
        parser.error("wrk is not on PATH (apt-get install wrk), or use --loadgen python")
    if wrk:
        version = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
        gen = f"wrk ({version.stdout.split(' Copyright')[0].strip()}, {args.threads} thread(s))"
    else:
        gen = "built-in Python asyncio HTTP/1.1 client (wrk not used)"
    stack = (
        "uvicorn, 1 process"
        if args.workers == 1
        else (f"gunicorn + {args.workers} uvicorn_worker.UvicornWorker processes")
    )
    print(f"load generator : {gen}")
    print(f"server stack   : {stack} for both apps (Python {platform.python_version()})")
    print(f"flask wrapper  : {flask_wrapper()} (WSGI app in a thread pool)")
    print(
        f"load           : {args.connections} keep-alive connections, {args.warmup:g} s warm-up "
        f"+ {args.duration:g} s timed, machine has {os.cpu_count()} cores"
    )
    print()

    with workdir() as tmp:
        with agentyard_server(tmp, args.workers) as (base, key):
            with httpx.Client(base_url=base, timeout=10) as client:
                for i in range(args.sessions):
                    register_session(client, key, f"bench-{i:03d}")
            agentyard = measure(args, wrk, base, SESSIONS_PATH, key, tmp)
        with flask_server(tmp, args.workers) as base:
            flask = measure(args, wrk, base, FLASK_PATH, key, tmp)

    print(
        f"{'target':<50} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9} "
        f"{'requests':>9} {'non-2xx':>7} {'sockerr':>7}"
    )
    print(row(f"agentyard GET {SESSIONS_PATH} ({args.sessions} sessions)", agentyard))
    print(row(f"flask hello world GET {FLASK_PATH}", flask))
    print()
    print(
        f"ratio agentyard/flask: throughput {agentyard.rps / flask.rps:.3f}x, "
        f"p50 latency {agentyard.p50 / flask.p50:.2f}x, "
        f"p99 latency {agentyard.p99 / flask.p99:.2f}x"
    )
    if agentyard.non_2xx or flask.non_2xx or agentyard.socket_errors or flask.socket_errors:
        print("note: some responses were errors (see non-2xx / sockerr columns)")


if __name__ == "__main__":
    main()
