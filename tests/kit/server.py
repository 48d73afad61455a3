"""The app under test: one per backend, served live by uvicorn in a thread.

Backends: `embedded` (SQLite file + in-process pub/sub + in-memory limits) always;
`scaled` (PostgreSQL + Redis) when AGENTYARD_TEST_DATABASE_URL and AGENTYARD_TEST_REDIS_URL
are set. Every test that uses `server`/`app` runs once per backend.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from agentyard.app import create_app
from agentyard.config import Settings

PG_URL = os.environ.get("AGENTYARD_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("AGENTYARD_TEST_REDIS_URL")

BACKENDS = ["embedded"] + (["scaled"] if PG_URL and REDIS_URL else [])

# Fast timings for tests; production defaults are documented in README.
TEST_SETTINGS = {
    "sse_heartbeat_seconds": 0.5,
    "aisp_ping_timeout_seconds": 1.0,
    "aisp_reads_per_minute": 100_000,
    "aisp_writes_per_minute": 100_000,
    "hasp_requests_per_minute": 100_000,
    "hasp_studio_login_per_minute_ip": 100_000,
    "harnesslayer_requests_per_minute": 100_000,
    "hyphen_requests_per_minute": 100_000,
    "hyphen_signups_per_minute": 100_000,
    "jobs_queue": f"agentyard-test-{secrets.token_hex(4)}",  # runs never share a Redis queue
    "webhook_allow_private": "127.0.0.1/32,::1/128",  # the tests' local receivers
    "webhook_require_https": False,
    # Studio members' argon2id hashes at a test cost (~1 ms, not ~0.25 s per hash and per
    # sign-in, which hundreds of Studio tests paid); test_auth checks the production default.
    "hasp_studio_password_time_cost": 1,
    "hasp_studio_password_memory_kib": 1024,
}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Backend:
    name: str
    database_url: str | None
    redis_url: str | None


def scratch_pg_database(base_url: str) -> tuple[str, Callable[[], None]]:
    """A fresh PostgreSQL database for this run, and the function dropping it (closing this
    process's store connections to it first)."""
    import psycopg2
    import psycopg2.errors

    name = f"agentyard_test_{secrets.token_hex(4)}"
    admin = psycopg2.connect(base_url)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    url = base_url.rsplit("/", 1)[0] + "/" + name

    def drop() -> None:
        from agentyard.core.store import db

        if db.obj is not None and getattr(db.obj, "database", None) == name:
            if not db.obj.is_closed():
                db.obj.close()
            if hasattr(db.obj, "close_all"):
                db.obj.close_all()
        cur = admin.cursor()
        # a background thread (job consumer, listener) may reconnect between the two
        # statements: terminate and try again, a few times
        for attempt in range(20):
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            try:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
                break
            except psycopg2.errors.ObjectInUse:
                if attempt == 19:
                    raise
                time.sleep(0.1)
        admin.close()

    return url, drop


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "embedded":
        yield Backend("embedded", None, None)
        return
    url, drop = scratch_pg_database(PG_URL)
    try:
        yield Backend("scaled", url, REDIS_URL)
    finally:
        drop()


@pytest.fixture(scope="session")
def settings(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp(f"data-{backend.name}")
    return Settings.from_env(
        data_dir=data_dir,
        database_url=backend.database_url,
        redis_url=backend.redis_url,
        **TEST_SETTINGS,
    )


@pytest.fixture(scope="session")
def app(settings: Settings, backend: Backend):
    """The combined app with response validation on, tagged with its backend's name."""
    made = create_app(settings, validate_responses=True)
    made.agentyard_backend = backend.name  # read by tests/kit/contract.load_schema
    return made


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # running in a thread
        pass


@pytest.fixture(scope="session")
def server(app) -> Iterator[str]:
    """Base URL of the app served by uvicorn on a free port."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    srv = _Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 15
    while not srv.started:
        if time.time() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)
