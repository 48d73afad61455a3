"""Every script in examples/ runs end to end against one live `agentyard serve`, as a user runs
it: a subprocess with AGENTYARD_URL and the server's AGENTYARD_DATA_DIR (so the key each script
mints with `agentyard keys create` lands in the store the server reads), exit code 0 and a last
line `done`. README's "Calling ..." sections point at these scripts, so they cannot drift.

The server is embedded (SQLite, in-process pub/sub) and, when AGENTYARD_TEST_DATABASE_URL and
AGENTYARD_TEST_REDIS_URL are set, also scaled (a scratch PostgreSQL database and Redis)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kit.processes import start, stop
from tests.kit.server import BACKENDS, PG_URL, REDIS_URL, scratch_pg_database

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
# Every secret format agentyard issues (keys, tokens, webhook secrets, passwords' setting
# links): none may appear in a log line, whatever the examples did. (The dev credentials the
# first start prints are plain output lines, not log records.)
SECRET = re.compile(
    r"(?:aisp_key_|wa_live_|hasp_key_live_|hasp_pat_|sk-hyp-|pk_live_|dk-|uk-|op_)[0-9a-f]{16,}"
    r"|whsec_[A-Za-z0-9+/=]{20,}"
)
KEY_VARS = (
    "AISP_KEY",
    "AISP_REALM",
    "HASP_AI_KEY",
    "HASP_RUNTIME_KEY",
    "HARNESSLAYER_KEY",
    "HYPHEN_KEY",
)


@pytest.fixture(scope="module", params=BACKENDS)
def served(request, tmp_path_factory) -> Iterator[dict[str, str]]:
    """One `agentyard serve` for every script: the environment that reaches it."""
    env = {"DATABASE_URL": "", "REDIS_URL": ""}
    drop = None
    if request.param == "scaled":
        database_url, drop = scratch_pg_database(PG_URL or "")
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL or "",
            "AGENTYARD_JOBS_QUEUE": f"agentyard-examples-{secrets.token_hex(4)}",
        }
    data_dir = tmp_path_factory.mktemp("examples-data")
    proc, base = start(data_dir, **env)
    out = ""
    try:
        yield {**env, "AGENTYARD_URL": base, "AGENTYARD_DATA_DIR": str(data_dir)}
    finally:
        out = stop(proc)
        if drop is not None:
            drop()
    logged = [line for line in out.splitlines() if line.startswith("{")]
    assert len(logged) > 50, "the server logged fewer lines than the examples made requests"
    leaked = sorted({m for line in logged for m in SECRET.findall(line)})
    assert not leaked, f"secrets in the server's log: {[s[:12] + '...' for s in leaked]}"


def test_every_example_is_tested():
    assert SCRIPTS == [
        "aisp_hub.py",
        "harnesslayer.py",
        "hasp_ai.py",
        "hasp_runtime.py",
        "hasp_studio.py",
        "hyphen.py",
    ]


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_end_to_end(served, script, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        env={**env, **served, "TMPDIR": str(tmp_path)},  # hasp_ai.py's files for hasp-verify
        capture_output=True,
        text=True,
        timeout=180,
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0, f"{script} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert lines and lines[-1] == "done", done.stdout
