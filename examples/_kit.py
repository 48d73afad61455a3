"""What every example shares: where the server is, a key for the surface, checked requests.

`AGENTYARD_URL` (default http://127.0.0.1:8000) is the combined server `agentyard serve`
starts; each surface answers under `/<surface>`. The key is the script's first argument, or
the surface's env var, or else minted with `agentyard keys create` (same machine and
AGENTYARD_DATA_DIR / DATABASE_URL as the server) for the tenant `example-<surface>` (or the
one the script names), created on first use. `agentyard()` runs any other CLI command the
same way (HASP Studio's members: `agentyard users create`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Any

import httpx

BASE = os.environ.get("AGENTYARD_URL", "http://127.0.0.1:8000").rstrip("/")


def step(text: str) -> None:
    """One short line per step, as it happens."""
    print(text, flush=True)


def agentyard_command() -> list[str]:
    """The `agentyard` CLI: on PATH, or this Python's `-m agentyard.cli`."""
    found = shutil.which("agentyard")
    return [found] if found else [sys.executable, "-m", "agentyard.cli"]


def key(
    surface: str,
    env_var: str,
    *,
    kind: str | None = None,
    scopes: str | None = None,
    tenant: str | None = None,
) -> str:
    """The key given as the first argument or in `env_var`, or else a new one for `tenant`
    (default `example-<surface>`; its secret is what `agentyard keys create --quiet` prints)."""
    if len(sys.argv) > 1:
        step("key: from the command line")
        return sys.argv[1]
    if os.environ.get(env_var):
        step(f"key: from {env_var}")
        return os.environ[env_var]
    tenant = tenant or f"example-{surface}"
    args = ["keys", "create", "--surface", surface, "--tenant", tenant, "--quiet"]
    args += ["--kind", kind] if kind else []
    args += ["--scopes", scopes] if scopes else []
    args += ["--name", "examples"]
    secret = agentyard(*args)
    step(f"key: minted for tenant {tenant} (agentyard {' '.join(args[:5])} ...)")
    return secret


def agentyard(*args: str) -> str:
    """Run `agentyard ARGS` (same machine and store as the server); its stdout, stripped."""
    done = subprocess.run(
        agentyard_command() + list(args), capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise SystemExit(
            f"agentyard {' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()}"
        )
    return done.stdout.strip()


def expect(response: httpx.Response, *statuses: int) -> Any:
    """The response's JSON (text when it is not JSON, None when empty); exit on any other status."""
    if response.status_code not in statuses:
        request = response.request
        raise SystemExit(
            f"{request.method} {request.url} -> {response.status_code} "
            f"(expected {', '.join(map(str, statuses))}): {response.text[:500]}"
        )
    if not response.content:
        return None
    return response.json() if "json" in response.headers.get("content-type", "") else response.text
