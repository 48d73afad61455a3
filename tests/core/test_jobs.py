"""Background jobs: tasks run in a consumer with a store connection, delays hold, no task runs
twice; the SQLite queue always, the Redis queue when AGENTYARD_TEST_REDIS_URL is set."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
import time
from collections.abc import Iterator

import pytest
from huey import Huey
from huey.storage import BlackHoleStorage, PriorityRedisStorage, SqliteStorage

from agentyard.config import Settings
from agentyard.core import jobs, keys, metrics
from agentyard.core.store import connection, db

REDIS_URL = os.environ.get("AGENTYARD_TEST_REDIS_URL")

FAST = {"poll_interval": 0.05, "scheduler_interval": 0.05}

_ran: dict[str, list[tuple[float, str]]] = {}
_ran_lock = threading.Lock()


def _note(tag: str, value: str = "") -> None:
    with _ran_lock:
        _ran.setdefault(tag, []).append((time.monotonic(), value))


def ran(tag: str) -> list[tuple[float, str]]:
    with _ran_lock:
        return list(_ran.get(tag, []))


def restore(previous: jobs.Backend | None, running: dict | None) -> None:
    """Put back the queue binding (and consumer) that was there before the test."""
    if previous is not None:
        jobs.bind(previous)
        if running is not None:
            jobs.start_consumer(**running)


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@jobs.task()
def create_tenant(name: str) -> dict:
    """Runs in the consumer: must find a store connection already open."""
    had_connection = not db.is_closed()
    tenant, created = keys.get_or_create_tenant("jobs-test", name)
    return {
        "had_connection": had_connection,
        "created": created,
        "tenant": tenant.id,
        "thread": threading.current_thread().name,
    }


@jobs.task()
def stamp(tag: str, value: str = "") -> None:
    _note(tag, value)


_gates: dict[str, threading.Event] = {}


@jobs.task()
def hold(tag: str) -> None:
    """Runs until the test opens its gate."""
    _note(tag, "started")
    _gates[tag].wait(10)


def running_jobs() -> float:
    return metrics.JOBS_RUNNING._value.get()


@pytest.fixture
def queue(app, settings: Settings, monkeypatch) -> Iterator[Huey]:
    """The process queue bound to a fresh queue name on this backend (SQLite file or Redis)."""
    monkeypatch.setattr(jobs, "REDIS_BLOCK_SECONDS", 0.1)  # quick consumer stops
    previous, running = jobs.current_backend(), jobs.stop_consumer()
    huey = jobs.configure(settings, name=f"agentyard-test-{secrets.token_hex(4)}")
    try:
        yield huey
    finally:
        jobs.stop_consumer()
        huey.flush()
        restore(previous, running)


def test_the_backend_follows_the_settings(queue, settings):
    if settings.redis_url:
        assert isinstance(queue.storage, PriorityRedisStorage)
    else:
        assert isinstance(queue.storage, SqliteStorage)
        assert queue.storage.filename == str(settings.data_dir / "jobs.db")


def test_a_task_runs_in_the_consumer_with_a_store_connection(queue):
    jobs.start_consumer(workers=2, **FAST)
    name = f"t-{secrets.token_hex(4)}"
    result = create_tenant(name).get(blocking=True, timeout=10)
    assert result["had_connection"] is True
    assert result["created"] is True
    assert result["thread"] != threading.current_thread().name
    with connection():
        assert keys.find_tenant("jobs-test", name).id == result["tenant"]


def test_the_running_gauge_counts_jobs_while_they_execute(queue):
    jobs.start_consumer(workers=2, **FAST)
    tag = secrets.token_hex(4)
    _gates[tag] = threading.Event()
    # the gauge is the process's: let a job of an earlier test (another consumer) finish first
    wait_for(lambda: running_jobs() == 0)
    hold(tag)
    hold(tag)
    wait_for(lambda: len(ran(tag)) == 2)
    assert running_jobs() == 2
    scraped = metrics.exposition()[0].decode()
    assert "agentyard_jobs_running 2.0" in scraped
    _gates[tag].set()
    wait_for(lambda: running_jobs() == 0)


def test_delayed_tasks_wait_for_their_delay_or_eta(queue):
    jobs.start_consumer(**FAST)
    tag = secrets.token_hex(4)
    start = time.monotonic()
    stamp.schedule((tag, "delay"), delay=0.6)
    stamp.schedule((tag, "eta"), eta=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.9))
    stamp(tag, "now")
    wait_for(lambda: len(ran(tag)) == 3)
    runs = {value: at - start for at, value in ran(tag)}
    assert runs["now"] < 0.5
    assert 0.55 <= runs["delay"] < 3.0
    assert 0.85 <= runs["eta"] < 3.0
    assert [value for _, value in ran(tag)] == ["now", "delay", "eta"]


def test_no_task_runs_twice_when_consumers_share_a_queue(queue):
    """A second Huey on its own connection to the same queue stands for another process."""
    other = Huey(queue.name, storage_class=BlackHoleStorage)
    other.storage = jobs.open_storage(jobs.current_backend())
    other._registry = queue._registry
    second = jobs.InProcessConsumer(
        other, tick=0.05, workers=2, initial_delay=0.02, max_delay=0.05, periodic=False
    )
    thread = threading.Thread(target=second.run, daemon=True)
    tag = secrets.token_hex(4)
    for i in range(40):
        stamp(tag, str(i))
    thread.start()
    jobs.start_consumer(workers=2, **FAST)
    try:
        wait_for(lambda: len(ran(tag)) >= 40)
        time.sleep(0.3)
    finally:
        second.stop(graceful=True)
        thread.join(5)
        other.storage.close()
    assert sorted(int(v) for _, v in ran(tag)) == list(range(40))


def test_immediate_mode_runs_tasks_inline(app):
    previous, running = jobs.current_backend(), jobs.stop_consumer()
    jobs.configure(Settings(), name=f"immediate-{secrets.token_hex(4)}", immediate=True)
    try:
        tag = secrets.token_hex(4)
        stamp(tag, "inline")
        assert [v for _, v in ran(tag)] == ["inline"]
        with pytest.raises(jobs.JobsNotConfiguredError):
            jobs.start_consumer()
    finally:
        restore(previous, running)


def test_enqueueing_before_configuration_is_refused():
    unbound = Huey("unbound", storage_class=jobs._Unbound)
    task = unbound.task()(lambda: None)
    with pytest.raises(jobs.JobsNotConfiguredError):
        task()


def test_binding_another_queue_while_consuming_is_refused(queue, settings, tmp_path):
    jobs.start_consumer(**FAST)
    with pytest.raises(RuntimeError):
        jobs.configure(Settings(data_dir=tmp_path), name="elsewhere")
    assert jobs.configure(settings, name=queue.name) is queue  # same queue: a no-op


@pytest.mark.skipif(not REDIS_URL, reason="AGENTYARD_TEST_REDIS_URL not set")
def test_the_redis_queue_runs_tasks_and_delays(app, tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "REDIS_BLOCK_SECONDS", 0.1)
    previous, running = jobs.current_backend(), jobs.stop_consumer()
    settings = Settings(data_dir=tmp_path, redis_url=REDIS_URL)
    huey = jobs.configure(settings, name=f"agentyard-test-{secrets.token_hex(4)}")
    try:
        assert isinstance(huey.storage, PriorityRedisStorage)
        jobs.start_consumer(**FAST)
        tag = secrets.token_hex(4)
        start = time.monotonic()
        stamp.schedule((tag, "later"), delay=0.5)
        result = create_tenant(f"r-{tag}").get(blocking=True, timeout=10)
        assert result["had_connection"] is True
        wait_for(lambda: len(ran(tag)) == 1)
        assert ran(tag)[0][0] - start >= 0.45
    finally:
        jobs.stop_consumer()
        huey.flush()
        restore(previous, running)
