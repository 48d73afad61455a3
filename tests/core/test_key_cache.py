"""The per-process key cache never outlives a revocation, in any process.

Two `agentyard serve` processes answer with one key (so both have it cached, for a TTL far
longer than the test), a third process (`agentyard keys revoke`) revokes it, and the very next
request to either server is refused. Embedded: the processes share the data dir (SQLite file
and the key cache's marks file). Scaled: each has its own data dir and only PostgreSQL and
Redis pub/sub are shared, so only the pub/sub message can tell the servers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.kit.server import PG_URL, REDIS_URL, free_port, scratch_pg_database

BACKENDS = ["embedded"] + (["scaled"] if PG_URL and REDIS_URL else [])
SESSIONS = "/aisp-hub/api/v1/sessions"


def _env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        AGENTYARD_DATA_DIR=str(data_dir),
        AGENTYARD_KEY_CACHE_SECONDS="600",  # only a forget can drop an entry in this test
        AGENTYARD_JOBS_WORKERS="0",
        PYTHONUNBUFFERED="1",
    )
    env.pop("AGENTYARD_SURFACE", None)
    if database_url:
        env.update(DATABASE_URL=database_url, REDIS_URL=REDIS_URL or "")
    return env


def _cli(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", "from agentyard.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out.stdout.strip()


@pytest.fixture(params=BACKENDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[dict[str, str]]]:
    """Environments of three processes: two servers and the operator's CLI."""
    if request.param == "embedded":
        shared = tmp_path / "data"
        yield [_env(shared, None)] * 3
        return
    url, drop = scratch_pg_database(PG_URL or "")
    try:
        yield [_env(tmp_path / f"data-{i}", url) for i in range(3)]
    finally:
        drop()


def _serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [sys.executable, "-c", "from agentyard.cli import main; main()", "serve"]
    cmd += ["--port", str(port), "--surface", "aisp-hub"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}"


def _wait(proc: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            httpx.get(base + "/openapi.json", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"server not ready:\n{log.read_text()}")


def test_revoked_key_is_refused_by_every_process_on_the_next_request(stores, tmp_path):
    server_envs, cli_env = stores[:2], stores[2]
    _cli(server_envs[0], "db", "upgrade")
    secret = _cli(server_envs[0], "keys", "create", "--surface", "aisp-hub", "--tenant", "t", "-q")
    started = []
    try:
        for i, env in enumerate(server_envs):
            log = tmp_path / f"server-{i}.log"
            proc, base = _serve(env, log)
            started.append((proc, base, log))
        for proc, base, log in started:
            _wait(proc, base, log)
        headers = {"X-AISP-Key": secret}
        path = SESSIONS.removeprefix("/aisp-hub")
        for _, base, _ in started:  # cached by both servers now
            for _ in range(2):
                assert httpx.get(base + path, headers=headers).status_code == 200
        _cli(cli_env, "keys", "revoke", "--surface", "aisp-hub", secret[:16])
        for _, base, _ in started:
            r = httpx.get(base + path, headers=headers)
            assert r.status_code == 401, r.text
    finally:
        for proc, _, _ in started:
            proc.terminate()
        for proc, _, _ in started:
            proc.wait(timeout=15)
