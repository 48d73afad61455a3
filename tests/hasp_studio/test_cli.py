"""`agentyard users create --surface hasp-studio` prints a first password that signs in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from agentyard.core.store import connection
from agentyard.hasp.studio import passwords
from agentyard.hasp.studio.models import StudioUser

ROOT = Path(__file__).resolve().parents[2]


def _users_create(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["AGENTYARD_DATA_DIR"] = str(tmp_path)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "agentyard.cli",
            "users",
            "create",
            "--surface",
            "hasp-studio",
            *args,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_users_create_prints_a_password_once(tmp_path: Path) -> None:
    args = ("--org", "acme", "--email", "Ana@Acme.example", "--role", "admin")
    done = _users_create(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    password = done.stdout.strip()
    assert len(password) >= passwords.MIN_LENGTH
    assert "role admin" in done.stderr and "/api/internal/auth/login" in done.stderr
    again = _users_create(tmp_path, *args)
    assert again.returncode != 0 and "exists already" in again.stderr
    bad = _users_create(tmp_path, "--org", "acme", "--email", "x@y.z", "--role", "emperor")
    assert bad.returncode != 0


@pytest.fixture
def operator_member(tmp_path: Path):
    """A member the operator created in this test's store, through the same function."""
    from agentyard.hasp.studio import bootstrap

    with connection():
        user, password = bootstrap.create_user(
            "cli-org", f"op-{tmp_path.name}@example.org", "owner"
        )
        yield user, password
        StudioUser.delete().where(StudioUser.id == user.id).execute()


def test_the_printed_password_signs_in(server: str, operator_member) -> None:
    user, password = operator_member
    r = httpx.post(
        server + "/hasp-studio/api/internal/auth/login",
        json={"email": user.email, "password": password},
    )
    assert r.status_code == 200 and r.json()["data"]["user"]["role"] == "owner"
