"""The `agentyard` command run as a user would: one-off commands and `serve` in subprocesses,
on a data dir of the test's own (embedded backends: no DATABASE_URL / REDIS_URL)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.kit.server import free_port

AGENTYARD = [sys.executable, "-m", "agentyard.cli"]


def run(args, data_dir: Path, **env):
    return subprocess.run(
        AGENTYARD + args,
        env={
            **os.environ,
            "AGENTYARD_DATA_DIR": str(data_dir),
            "DATABASE_URL": "",
            "REDIS_URL": "",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def start(data_dir: Path, *args, **env):
    port = free_port()
    proc = subprocess.Popen(
        AGENTYARD + ["serve", "--port", str(port), *args],
        env={
            **os.environ,
            "AGENTYARD_DATA_DIR": str(data_dir),
            "DATABASE_URL": "",
            "REDIS_URL": "",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: gunicorn workers die with it
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90  # a loaded machine starts slowly
    while time.time() < deadline and proc.poll() is None:
        try:
            httpx.get(base + "/", timeout=1)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(_kill(proc))


def _kill(proc) -> str:
    """Kill the server and every process of its group (workers hold its stdout open)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate()
    return out


def stop(proc) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        out = _kill(proc)
    return out
