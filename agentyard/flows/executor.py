"""The step executor: walks a compiled definition, replaying what the run's step records say
already happened and running the rest, committing each step's start and result.

Paths name steps: "0", "1", a foreach body's "2/items/<i>/<j>", a condition's
"3/branches/<b>/<j>" or "3/else/<j>", a skipped step's fallback "4/else/<j>", and the
definition's `when_false` steps "when_false/<j>". Replay is deterministic because every
decision is recorded: `when` results (a `skipped` record), a condition's branch, a foreach's
items, a pause's decisions. A `running` record met on replay was interrupted by a dead worker:
it runs again (attempt + 1) with the same idempotency key.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agentyard.core import clock
from agentyard.core.store import connection, write
from agentyard.flows.engine import Engine, FlowEvent, PauseRequested, Result, StepContext
from agentyard.flows.errors import StepFailed
from agentyard.flows.models import (
    COMPLETED,
    CONDITION_NOT_MET,
    FAILED,
    PAUSED,
    RUNNING,
    STEP_COMPLETED,
    STEP_FAILED,
    STEP_PAUSED,
    STEP_RUNNING,
    STEP_SKIPPED,
    WAITING,
    Run,
    StepRecord,
    TraceEvent,
)
from agentyard.flows.scope import Scope
from agentyard.flows.secrets import Secrets

log = logging.getLogger("agentyard.flows")

CONTINUE_STRATEGIES = frozenset({"continue", "continue_on_error"})


class _Stop(Exception):  # noqa: N818 - unwinding, not an error
    """Unwind the executor: the run is no longer this execution's to advance."""


class _Paused(_Stop):
    """The run paused (here or in a concurrent foreach iteration)."""


class _Halted(_Stop):
    """The run was cancelled, finished elsewhere, or its lease was taken over."""


class _Failed(Exception):  # noqa: N818
    """A step failed; `error` is what the run records."""

    def __init__(self, path: str, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.path = path
        self.error = error


def record_event(run_id: str, kind: str, path: str | None, data: Any, at: dt.datetime) -> None:
    """Insert one trace event (call inside the transaction that makes it true)."""
    TraceEvent.create(run=run_id, at=at, kind=kind, path=path, data=data)


class Execution:
    """One job's turn at advancing one run it holds the lease of (`token`)."""

    def __init__(self, engine: Engine, run: Run, token: str) -> None:
        self.engine = engine
        self.run_id: str = run.id
        self.tenant_id: str = run.tenant_id
        self.definition: Mapping[str, Any] = run.definition
        self.initial: dict[str, Any] = dict(run.initial or {})
        self.token = token
        self.secrets = Secrets()
        self.lost = threading.Event()
        self.records: dict[str, StepRecord] = {
            r.path: r for r in StepRecord.select().where(StepRecord.run == run.id)
        }

    # -- bookkeeping ---------------------------------------------------------------------

    def _emit(self, kind: str, path: str | None, data: Any) -> None:
        self.engine.emit(FlowEvent(self.run_id, self.tenant_id, self.engine.name, kind, path, data))

    def _event(self, kind: str, path: str | None, data: Any, at: dt.datetime) -> Any:
        data = self.secrets.redact(data)
        record_event(self.run_id, kind, path, data, at)
        return data

    def trace(self, kind: str, path: str | None, data: Any) -> None:
        """A custom trace event, committed now."""
        with write():
            data = self._event(kind, path, data, clock.now())
        self._emit(kind, path, data)

    def check_live(self) -> None:
        """Raise unless the run is still running under this execution's lease."""
        row = Run.select(Run.status, Run.lease_owner).where(Run.id == self.run_id).first()
        if row is not None and row.status == RUNNING and row.lease_owner == self.token:
            return
        self.lost.set()
        if row is not None and row.status in (PAUSED, WAITING):
            raise _Paused()
        raise _Halted()

    def stopped(self) -> bool:
        """Whether this execution must stop (cancelled, paused elsewhere, lease lost)."""
        if self.lost.is_set():
            return True
        with connection():
            try:
                self.check_live()
            except _Stop:
                return True
        return False

    def save_state(self, record: StepRecord, state: Any) -> None:
        with write():
            StepRecord.update(state=self.secrets.redact(state)).where(
                StepRecord.id == record.id
            ).execute()
        record.state = state

    def _start(self, path: str, kind: str, input: Any, record: StepRecord | None) -> StepRecord:
        now = clock.now()
        stored = self.secrets.redact(input)
        with write():
            self.check_live()
            if record is None:
                record = StepRecord.create(
                    run=self.run_id,
                    path=path,
                    type=kind,
                    status=STEP_RUNNING,
                    input=stored,
                    attempt=1,
                    idempotency_key=f"{self.run_id}:{path}",
                    started_at=now,
                )
            else:
                record.status, record.input, record.started_at = STEP_RUNNING, stored, now
                record.attempt += 1
                record.save()
            data = self._event(
                "step_started",
                path,
                {"type": kind, "attempt": record.attempt, "input": stored},
                now,
            )
        self.records[path] = record
        self._emit("step_started", path, data)
        return record

    def _complete(
        self, record: StepRecord, out: Any, step: Mapping[str, Any], scope: Scope
    ) -> None:
        output, merged = out, None
        if isinstance(out, Result):
            output, merged = out.output, dict(out.context or {})
        _apply(step, output, merged, scope)
        now = clock.now()
        with write():
            record.status, record.finished_at, record.error = STEP_COMPLETED, now, None
            record.output = self.secrets.redact(output)
            record.merged = self.secrets.redact(merged)
            record.save()
            if "/" not in record.path:
                Run.update(
                    context=self.secrets.redact(scope.data), updated_at=now, version=Run.version + 1
                ).where(Run.id == self.run_id).execute()
            data = self._event(
                "step_completed", record.path, {"type": record.type, "output": output}, now
            )
        self._emit("step_completed", record.path, data)

    def _fail_step(self, record: StepRecord, error: dict[str, Any]) -> None:
        now = clock.now()
        with write():
            record.status, record.finished_at = STEP_FAILED, now
            record.error = self.secrets.redact(error)
            record.save()
            data = self._event("step_failed", record.path, {"type": record.type, **error}, now)
        self._emit("step_failed", record.path, data)
        raise _Failed(record.path, record.error)

    def _pause(self, record: StepRecord, pause: PauseRequested) -> None:
        now = clock.now()
        expires = now + dt.timedelta(seconds=pause.ttl_seconds) if pause.ttl_seconds else None
        payload = self.secrets.redact(pause.payload)
        with write():
            record.status = STEP_PAUSED
            record.save()
            moved = (
                Run.update(
                    status=pause.status,
                    pause_path=record.path,
                    pause_kind=pause.kind,
                    pause_key=pause.key,
                    pause_payload=payload,
                    pause_expires_at=expires,
                    lease_owner=None,
                    lease_expires_at=None,
                    updated_at=now,
                    version=Run.version + 1,
                )
                .where(
                    (Run.id == self.run_id)
                    & (Run.status == RUNNING)
                    & (Run.lease_owner == self.token)
                )
                .execute()
            )
            data = None
            if moved:
                data = self._event(
                    "paused",
                    record.path,
                    {
                        "kind": pause.kind,
                        "key": pause.key,
                        "payload": payload,
                        "ttl_seconds": pause.ttl_seconds,
                    },
                    now,
                )
        self.lost.set()
        if moved:
            self._emit("paused", record.path, data)
        raise _Paused()

    def _finish(self, status: str, scope: Scope, output: Any = None, error: Any = None) -> None:
        now = clock.now()
        with write():
            moved = (
                Run.update(
                    status=status,
                    context=self.secrets.redact(scope.data),
                    output=self.secrets.redact(output),
                    error=self.secrets.redact(error),
                    finished_at=now,
                    updated_at=now,
                    lease_owner=None,
                    lease_expires_at=None,
                    version=Run.version + 1,
                )
                .where(
                    (Run.id == self.run_id)
                    & (Run.status == RUNNING)
                    & (Run.lease_owner == self.token)
                )
                .execute()
            )
            data = None
            if moved:
                data = self._event(f"run_{status}", None, {"output": output, "error": error}, now)
        if moved:
            self._emit(f"run_{status}", None, data)

    # -- walking the definition -----------------------------------------------------------

    def run(self) -> None:
        """Advance the run until it completes, fails, pauses or is no longer ours."""
        scope = Scope(dict(self.initial), self.run_id, self.tenant_id, self.secrets)
        definition = self.definition
        try:
            steps, prefix = definition.get("steps") or [], ""
            if definition.get("when") is not None and not self._definition_condition(
                definition["when"], scope
            ):
                if definition.get("when_false") is None:
                    self._finish(CONDITION_NOT_MET, scope)
                    return
                steps, prefix = definition["when_false"], "when_false"
            self.run_steps(steps, prefix, scope)
            output = None
            if definition.get("output") is not None:
                output = self.engine.resolve(definition["output"], scope)
            self._finish(COMPLETED, scope, output=output)
        except _Stop:
            return
        except _Failed as failure:
            self._finish(FAILED, scope, error={"path": failure.path, **failure.error})

    def _definition_condition(self, when: Any, scope: Scope) -> bool:
        record = self.records.get("when")
        if record is not None:
            return bool(record.output)
        result = bool(self.engine.test(when, scope))
        now = clock.now()
        with write():
            self.check_live()
            self.records["when"] = StepRecord.create(
                run=self.run_id,
                path="when",
                type="when",
                status=STEP_COMPLETED,
                output=result,
                attempt=1,
                idempotency_key=f"{self.run_id}:when",
                started_at=now,
                finished_at=now,
            )
            data = self._event("condition_evaluated", "when", {"result": result}, now)
        self._emit("condition_evaluated", "when", data)
        return result

    def run_steps(self, steps: list[Mapping[str, Any]], prefix: str, scope: Scope) -> None:
        """Run `steps` in order under path `prefix`."""
        for index, step in enumerate(steps):
            self.run_step(step, f"{prefix}/{index}" if prefix else str(index), scope)

    def run_step(self, step: Mapping[str, Any], path: str, scope: Scope) -> None:
        """Replay or run one step."""
        kind = step["type"]
        record = self.records.get(path)
        if record is not None:
            if record.status == STEP_SKIPPED:
                if (record.input or {}).get("branch") == "else":
                    self.run_steps(step.get("else") or [], f"{path}/else", scope)
                return
            if record.status == STEP_COMPLETED and kind != "condition":
                _apply(step, record.output, record.merged, scope)
                return
            if record.status == STEP_FAILED:
                raise _Failed(path, record.error or {"message": "failed"})
        elif step.get("when") is not None and not self.engine.test(step["when"], scope):
            self._skip(step, path)
            if step.get("else"):
                self.run_steps(step["else"], f"{path}/else", scope)
            return
        if self.lost.is_set():
            raise _Halted()
        if kind == "foreach":
            self._foreach(step, path, scope, record)
        elif kind == "condition":
            self._condition(step, path, scope, record)
        else:
            self._invoke(step, path, scope, record)

    def _skip(self, step: Mapping[str, Any], path: str) -> None:
        now = clock.now()
        branch = "else" if step.get("else") else None
        with write():
            self.check_live()
            self.records[path] = StepRecord.create(
                run=self.run_id,
                path=path,
                type=step["type"],
                status=STEP_SKIPPED,
                input={"branch": branch},
                attempt=0,
                idempotency_key=f"{self.run_id}:{path}",
                finished_at=now,
            )
            data = self._event("step_skipped", path, {"type": step["type"], "branch": branch}, now)
        self._emit("step_skipped", path, data)

    def _invoke(
        self, step: Mapping[str, Any], path: str, scope: Scope, record: StepRecord | None
    ) -> None:
        kind = step["type"]
        fn = self.engine.steps[kind]
        try:
            props = self.engine.resolve(step.get("props") or {}, scope)
        except Exception as exc:  # a reference that does not resolve fails the step
            record = self._start(path, kind, None, record)
            self._fail_step(record, _error(exc))
        record = self._start(path, kind, props, record)
        ctx = StepContext(execution=self, record=record, props=props, scope=scope, step=step)
        try:
            out = fn(ctx)
        except PauseRequested as pause:
            self._pause(record, pause)
        except StepFailed as exc:
            self._fail_step(record, _error(exc))
        except Exception as exc:  # a step's bug fails the step (and the run), not the worker
            log.warning(
                "flows: step %s (%s) of run %s raised", path, kind, self.run_id, exc_info=True
            )
            self._fail_step(record, _error(exc))
        self._complete(record, out, step, scope)

    def _condition(
        self, step: Mapping[str, Any], path: str, scope: Scope, record: StepRecord | None
    ) -> None:
        props = step.get("props") or {}
        branches = props.get("branches") or []
        if record is None:
            branch = next(
                (b for b, br in enumerate(branches) if self.engine.test(br.get("when"), scope)),
                None,
            )
            record = self._start(path, "condition", {"branch": branch}, record)
        branch = (record.input or {}).get("branch")
        if branch is None:
            self.run_steps(props.get("else") or [], f"{path}/else", scope)
        else:
            self.run_steps(branches[branch].get("steps") or [], f"{path}/branches/{branch}", scope)
        if record.status != STEP_COMPLETED:
            self._complete(record, {"branch": branch}, step, scope)

    def _foreach(
        self, step: Mapping[str, Any], path: str, scope: Scope, record: StepRecord | None
    ) -> None:
        props = step.get("props") or {}
        if record is None:
            items = self.engine.resolve(props.get("items"), scope)
            record = self._start(path, "foreach", {"items": items}, record)
            if items is None:
                items = []
            if not isinstance(items, list):
                self._fail_step(
                    record, {"code": "invalid_items", "message": "foreach items must be a list"}
                )
        items = (record.input or {}).get("items") or []
        variable = props.get("item_variable") or "item"
        index_variable = props.get("index_variable") or "index"
        keep_going = props.get("failure_strategy") in CONTINUE_STRATEGIES
        concurrency = max(1, int(props.get("max_concurrency") or 1))
        body = props.get("steps") or []
        keys = [s["output_key"] for s in body if s.get("output_key")]
        results: list[Any] = [None] * len(items)
        errors: dict[int, dict[str, Any]] = {}
        halt = threading.Event()

        def iteration(i: int) -> None:
            if halt.is_set():
                return
            with connection():
                names = {variable, *(props.get("item_aliases") or ())}
                child = scope.child(**({n: items[i] for n in names} | {index_variable: i}))
                try:
                    self.run_steps(body, f"{path}/items/{i}", child)
                except _Failed as failure:
                    if not keep_going:
                        halt.set()
                        raise
                    errors[i] = {"index": i, "path": failure.path, **failure.error}
                    return
                except BaseException:
                    halt.set()
                    raise
                results[i] = {k: child.data.get(k) for k in keys}

        raised: list[tuple[int, BaseException]] = []
        if concurrency == 1 or len(items) <= 1:
            for i in range(len(items)):
                iteration(i)
        else:
            with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
                futures = [pool.submit(iteration, i) for i in range(len(items))]
                for i, future in enumerate(futures):
                    exc = future.exception()
                    if exc is not None:
                        raised.append((i, exc))
        if raised:
            for cls in (_Paused, _Halted, _Failed):
                for _, exc in raised:
                    if isinstance(exc, cls):
                        raise exc
            raise raised[0][1]
        output: dict[str, Any] = {
            "count": len(items),
            "succeeded": len(items) - len(errors),
            "failed": len(errors),
            "errors": [errors[i] for i in sorted(errors)],
        }
        if props.get("collect_results", True):
            output["results"] = results
        self._complete(record, output, step, scope)


def _apply(
    step: Mapping[str, Any], output: Any, merged: Mapping[str, Any] | None, scope: Scope
) -> None:
    if step.get("output_key"):
        scope.data[step["output_key"]] = output
    if merged:
        scope.data.update(merged)


def _error(exc: Exception) -> dict[str, Any]:
    if not isinstance(exc, StepFailed):
        return {"code": "step_error", "message": f"{type(exc).__name__}: {exc}"}
    error: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.data is not None:
        error["data"] = exc.data
    return error


__all__ = ["Execution", "record_event"]
