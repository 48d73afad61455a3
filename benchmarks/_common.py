"""Shared helpers for the benchmark scripts: free ports, server subprocesses, percentiles.

Every server is started on 127.0.0.1 in its own process group with its output sent to a log
file (never a pipe, so a chatty access log cannot block it), and is always stopped at the end.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
KEY_RE = re.compile(r"aisp_key_[0-9a-f]{32}")
HUB = "/aisp-hub/api/v1"

# Rate limits high enough that no benchmark request is ever throttled.
BENCH_ENV = {
    "AGENTYARD_AISP_READS_PER_MINUTE": "100000000",
    "AGENTYARD_AISP_WRITES_PER_MINUTE": "100000000",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of `values` (nan when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def timed(n: int, call: Callable[[], object]) -> list[float]:
    """The durations (seconds) of `n` sequential calls of `call`."""
    out = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out


def latency_row(name: str, samples: list[float], width: int = 52) -> None:
    """Print one `name  n=...  p50 ... ms  p99 ... ms` line."""
    p50, p99 = percentile(samples, 50) * 1000, percentile(samples, 99) * 1000
    print(f"{name:<{width}} n={len(samples):<5} p50 {p50:8.2f} ms   p99 {p99:8.2f} ms", flush=True)


def ms(seconds: float) -> str:
    """Seconds as a millisecond figure for the tables."""
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.2f}"


class Server:
    """One server subprocess (its own process group), logging to a file."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.cmd = cmd
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, url: str, timeout: float = 30.0) -> None:
        """Poll `url` until the server answers at all (any status below 500)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.log_text()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2.0).status_code < 500:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout} s:\n{self.log_text()}")

    def group_cpu_seconds(self) -> float:
        """CPU time used so far by the live processes of this server's process group."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.proc.pid:  # pgrp
                total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        return total

    def wait_settled(self, timeout: float = 60.0, busy: float = 0.1) -> float:
        """Wait until the server's processes (its PHI scanners loading their model at start,
        gunicorn workers...) use under `busy` of a core over a second; the seconds waited."""
        start = time.monotonic()
        last = self.group_cpu_seconds()
        while time.monotonic() - start < timeout:
            time.sleep(1.0)
            now = self.group_cpu_seconds()
            if now - last < busy:
                break
            last = now
        return time.monotonic() - start

    def stop(self) -> None:
        """SIGTERM the process group we started, SIGKILL it if it lingers."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        else:
            # The leader is gone; make sure no worker of its group survives it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()


def _agentyard_cmd() -> list[str]:
    script = Path(sys.executable).parent / "agentyard"
    if script.exists():
        return [str(script)]
    found = shutil.which("agentyard")
    if found:
        return [found]
    return [sys.executable, "-c", "from agentyard.cli import main; main()"]


@contextlib.contextmanager
def serve_in_thread(app: object) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread of this process; yields its base URL."""
    import threading

    import uvicorn

    class _Server(uvicorn.Server):
        def install_signal_handlers(self) -> None:  # running in a thread
            pass

    port = free_port()
    server = _Server(uvicorn.Config(app, host=HOST, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("agentyard (uvicorn in a thread) did not start")
        time.sleep(0.02)
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    """A temporary directory for data and logs, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="agentyard-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def agentyard_server(
    tmp: Path, workers: int = 1, env: dict[str, str] | None = None, settle: bool = False
) -> Iterator[tuple[str, str]]:
    """`agentyard serve` on a free port with a fresh data dir (``tmp / "agentyard-data"``);
    yields (base url, dev key). ``env``: more settings; ``settle``: wait until its processes
    are idle (the PHI scanners load their model after start-up)."""
    port = free_port()
    data_dir = tmp / "agentyard-data"
    data_dir.mkdir(exist_ok=True)
    env = {
        **os.environ,
        **BENCH_ENV,
        "AGENTYARD_DATA_DIR": str(data_dir),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    for var in ("DATABASE_URL", "REDIS_URL", "AGENTYARD_SURFACE"):
        env.pop(var, None)
    cmd = [*_agentyard_cmd(), "serve", "--host", HOST, "--port", str(port)]
    cmd += ["--workers", str(workers)]
    server = Server("agentyard", cmd, env, tmp / "agentyard.log")
    try:
        base = f"http://{HOST}:{port}"
        server.wait_ready(base + "/aisp-hub/openapi.json", timeout=60)
        found = KEY_RE.search(server.log_text())
        if not found:
            raise RuntimeError(f"no dev API key in agentyard's output:\n{server.log_text()}")
        if settle:
            server.wait_settled()
        yield base, found.group(0)
    finally:
        server.stop()


def register_session(client: httpx.Client, key: str, name: str) -> str:
    """Register a session in the dev realm `default`; its id."""
    r = client.post(
        HUB + "/sessions",
        headers={"X-AISP-Key": key},
        json={"name": name, "kind": "interactive", "realm": "default"},
    )
    if r.status_code != 200:
        raise RuntimeError(f"registering session {name}: {r.status_code} {r.text}")
    return r.json()["id"]
