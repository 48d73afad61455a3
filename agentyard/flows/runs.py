"""Operations on runs: start, advance (in a job), resume, cancel, sweep (leases and TTLs),
and reading a run, its step records and its trace."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from agentyard.core import clock, ids, jobs, runtime
from agentyard.core.store import connection, write
from agentyard.flows.engine import Engine, FlowEvent, get_engine
from agentyard.flows.errors import NotPausedError, RunNotFoundError
from agentyard.flows.executor import Execution, record_event
from agentyard.flows.models import (
    CANCELLED,
    FAILED,
    FINAL_STATUSES,
    PAUSED,
    RUNNING,
    STEP_FAILED,
    STEP_RUNNING,
    WAITING,
    Run,
    StepRecord,
    TraceEvent,
)

log = logging.getLogger("agentyard.flows")

DEFAULT_LEASE_SECONDS = 30.0
DEFAULT_REAPER_SECONDS = 15.0


def lease_seconds() -> float:
    """`flows_lease_seconds` of the configured runtime (30 s when none is configured)."""
    try:
        return float(runtime.settings().flows_lease_seconds)
    except RuntimeError:
        return DEFAULT_LEASE_SECONDS


def reaper_seconds() -> float:
    """`flows_reaper_seconds` of the configured runtime (15 s when none is configured)."""
    try:
        return float(runtime.settings().flows_reaper_seconds)
    except RuntimeError:
        return DEFAULT_REAPER_SECONDS


def _emit(run: Run, kind: str, path: str | None, data: Any) -> None:
    try:
        engine = get_engine(run.engine)
    except Exception:
        return
    engine.emit(FlowEvent(run.id, run.tenant_id, run.engine, kind, path, data))


def start(
    engine: Engine,
    tenant_id: str,
    definition: Mapping[str, Any],
    input: Any = None,
    *,
    context: Mapping[str, Any] | None = None,
    run_id: str | None = None,
) -> Run:
    """Validate `definition`, store a new run and enqueue its first turn; returns the run.

    The run's context starts as `{"input": input, **context}`; never put secrets in it (a
    product's resolver resolves them at execution and marks them with `add_secret`).
    """
    engine.validate(definition)
    now = clock.now()
    initial = {"input": input if input is not None else {}, **(context or {})}
    with write():
        run = Run.create(
            id=run_id or ids.new_id("flow"),
            tenant=tenant_id,
            engine=engine.name,
            definition=dict(definition),
            initial=initial,
            status=RUNNING,
            context=initial,
            created_at=now,
            updated_at=now,
        )
        record_event(run.id, "run_started", None, {"input": initial["input"]}, now)
    _emit(run, "run_started", None, {"input": initial["input"]})
    enqueue(run.id)
    return run


def enqueue(run_id: str) -> None:
    """Queue a turn of the run (any worker may take it)."""
    advance_job(run_id)


class _Heartbeat:
    """Renews a held lease every third of its length until stopped; flags a lost lease."""

    def __init__(self, execution: Execution, seconds: float) -> None:
        self.execution = execution
        self.seconds = seconds
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="flows-lease", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(timeout=5)

    def _beat(self) -> None:
        while not self.done.wait(self.seconds / 3):
            try:
                with connection(), write():
                    renewed = (
                        Run.update(lease_expires_at=clock.now() + _seconds(self.seconds))
                        .where(
                            (Run.id == self.execution.run_id)
                            & (Run.status == RUNNING)
                            & (Run.lease_owner == self.execution.token)
                        )
                        .execute()
                    )
            except Exception:
                log.warning("flows: renewing a lease failed", exc_info=True)
                continue
            if not renewed:
                self.execution.lost.set()
                return


def _seconds(value: float) -> dt.timedelta:
    return dt.timedelta(seconds=value)


def advance(run_id: str) -> str | None:
    """Take the run's lease and advance it as far as it goes; returns its status then, or
    None when the run is not ours to advance (finished, paused, or leased by a live worker)."""
    lease = lease_seconds()
    token = uuid.uuid4().hex
    now = clock.now()
    with write():
        before = Run.get_or_none(Run.id == run_id)
        claimed = (
            Run.update(
                lease_owner=token,
                lease_expires_at=now + _seconds(lease),
                updated_at=now,
                version=Run.version + 1,
            )
            .where(
                (Run.id == run_id)
                & (Run.status == RUNNING)
                & (Run.lease_owner.is_null() | (Run.lease_expires_at < now))
            )
            .execute()
        )
        if claimed and before is not None and before.lease_owner is not None:
            record_event(
                run_id, "run_taken_over", None, {"previous_lease": before.lease_owner}, now
            )
    if not claimed:
        return None
    run = Run.get_by_id(run_id)
    try:
        engine = get_engine(run.engine)
    except Exception:
        with write():
            Run.update(lease_owner=None, lease_expires_at=None).where(
                (Run.id == run_id) & (Run.lease_owner == token)
            ).execute()
        raise
    execution = Execution(engine, run, token)
    with _Heartbeat(execution, lease):
        execution.run()
    return Run.get_by_id(run_id).status


@jobs.task(name="flows.advance")
def advance_job(run_id: str) -> None:
    """The background job that advances a run."""
    advance(run_id)


def resume(run_id: str, path: str, decision: Any) -> Run:
    """Give the decision the run paused for at `path` and enqueue its continuation.

    Raises RunNotFoundError, or NotPausedError when the run is not paused at `path` (it was
    decided already, cancelled, expired, or waits elsewhere)."""
    now = clock.now()
    with write():
        run = get_run(run_id)
        if run.status not in (PAUSED, WAITING) or run.pause_path != path:
            raise NotPausedError(run_id, path, run.status, run.pause_path)
        moved = (
            Run.update(
                status=RUNNING,
                pause_path=None,
                pause_kind=None,
                pause_key=None,
                pause_payload=None,
                pause_expires_at=None,
                updated_at=now,
                version=Run.version + 1,
            )
            .where((Run.id == run_id) & (Run.status == run.status) & (Run.pause_path == path))
            .execute()
        )
        if not moved:
            raise NotPausedError(run_id, path, get_run(run_id).status, None)
        record = StepRecord.get((StepRecord.run == run_id) & (StepRecord.path == path))
        record.decisions = {**(record.decisions or {}), run.pause_key or "0": decision}
        record.status = STEP_RUNNING
        record.save()
        data = {"kind": run.pause_kind, "key": run.pause_key, "decision": decision}
        record_event(run_id, "resumed", path, data, now)
    _emit(run, "resumed", path, data)
    enqueue(run_id)
    return get_run(run_id)


def cancel(run_id: str, reason: str | None = None) -> bool:
    """Cancel a run that has not finished: a step running now finishes (its result is
    recorded) and nothing after it runs. Returns False when the run had already finished."""
    now = clock.now()
    with write():
        run = get_run(run_id)
        if run.status in FINAL_STATUSES:
            return False
        Run.update(
            status=CANCELLED,
            pause_path=None,
            pause_kind=None,
            pause_key=None,
            pause_payload=None,
            pause_expires_at=None,
            error={"code": "cancelled", "message": reason or "the run was cancelled"},
            finished_at=now,
            updated_at=now,
            version=Run.version + 1,
        ).where(Run.id == run_id).execute()
        record_event(run_id, "run_cancelled", None, {"reason": reason}, now)
    _emit(run, "run_cancelled", None, {"reason": reason})
    return True


def sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Fail runs whose pause TTL passed and re-enqueue runs whose worker lost its lease (or
    whose job was lost). Idempotent: every consumer may run it."""
    now = now or clock.now()
    expired = 0
    for run in Run.select().where(Run.status.in_((PAUSED, WAITING)) & (Run.pause_expires_at < now)):
        expired += _expire(run, now)
    stale = now - _seconds(lease_seconds())
    lapsed = [
        r.id
        for r in Run.select(Run.id).where(
            (Run.status == RUNNING)
            & (
                (Run.lease_expires_at < now)
                | (Run.lease_owner.is_null() & (Run.updated_at < stale))
            )
        )
    ]
    for run_id in lapsed:
        enqueue(run_id)
    return {"expired": expired, "reclaimed": len(lapsed)}


def _expire(run: Run, now: dt.datetime) -> int:
    path, kind = run.pause_path, run.pause_kind
    error = {
        "code": "timeout",
        "message": f"the {kind} at step {path} expired before a decision",
        "path": path,
    }
    with write():
        moved = (
            Run.update(
                status=FAILED,
                error=error,
                pause_path=None,
                pause_kind=None,
                pause_key=None,
                pause_payload=None,
                pause_expires_at=None,
                finished_at=now,
                updated_at=now,
                version=Run.version + 1,
            )
            .where((Run.id == run.id) & (Run.status == run.status) & (Run.pause_path == path))
            .execute()
        )
        if not moved:
            return 0
        StepRecord.update(status=STEP_FAILED, error=error, finished_at=now).where(
            (StepRecord.run == run.id) & (StepRecord.path == path)
        ).execute()
        record_event(run.id, "pause_expired", path, {"kind": kind}, now)
        record_event(run.id, "run_failed", None, {"error": error}, now)
    _emit(run, "pause_expired", path, {"kind": kind})
    _emit(run, "run_failed", None, {"error": error})
    return 1


@jobs.task(name="flows.sweep")
def sweep_job() -> None:
    """One sweep, as a job."""
    sweep()


def _reaper_due(when: dt.datetime) -> bool:
    minutes = max(1, int(reaper_seconds() // 60))
    return (when.hour * 60 + when.minute) % minutes == 0


@jobs.periodic_task(_reaper_due, name="flows.reaper")
def reaper() -> None:
    """Huey checks periodic tasks once a minute: sweep now and, for a shorter
    `flows_reaper_seconds`, schedule the sweeps that fall within this minute."""
    sweep()
    every = reaper_seconds()
    if every < 60:
        for k in range(1, int(60 // every)):
            if k * every < 60:
                sweep_job.schedule(delay=k * every)


def get_run(run_id: str) -> Run:
    """The run; raises RunNotFoundError."""
    run = Run.get_or_none(Run.id == run_id)
    if run is None:
        raise RunNotFoundError(f"no run {run_id}")
    return run


def step_records(run_id: str) -> list[StepRecord]:
    """The run's step records in the order they were first started."""
    return list(StepRecord.select().where(StepRecord.run == run_id).order_by(StepRecord.id))


def trace(run_id: str) -> list[TraceEvent]:
    """The run's trace events in order."""
    return list(TraceEvent.select().where(TraceEvent.run == run_id).order_by(TraceEvent.id))
