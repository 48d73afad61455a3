"""An engine = one product's view of the workflow engine: its step types, resolver and hooks.

    hyphen = Engine("hyphen", resolve=hyphen_resolve, test=hyphen_test, on_event=notify)
    hyphen.register_step("PbotApproval", approval_step)

Engines are registered by name at import time, so any worker process that imports the
product finds the engine a stored run names. `foreach` and `condition` are built in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from agentyard.flows.errors import InvalidDefinitionError, UnknownEngineError
from agentyard.flows.scope import Resolver, Scope, Test, default_resolve, default_test

log = logging.getLogger("agentyard.flows")

StepFn = Callable[["StepContext"], Any]
CONTROL_TYPES = ("foreach", "condition")


@dataclass(frozen=True)
class FlowEvent:
    """A trace event, handed to the product's `on_event` hook after it was committed."""

    run_id: str
    tenant_id: str
    engine: str
    kind: str
    path: str | None
    data: Any


@dataclass
class Result:
    """What a step may return instead of a bare output: `output` goes to its `output_key`,
    `context` keys are merged into the enclosing context (e.g. an approval's `__approved`)."""

    output: Any = None
    context: Mapping[str, Any] | None = None


class PauseRequested(Exception):  # noqa: N818 - control flow, not an error
    """Raised by `StepContext.pause` to suspend the run (the engine catches it)."""

    def __init__(
        self, kind: str, payload: Any, key: str, ttl_seconds: float | None, status: str
    ) -> None:
        super().__init__(kind)
        self.kind = kind
        self.payload = payload
        self.key = key
        self.ttl_seconds = ttl_seconds
        self.status = status


class StepContext:
    """What a step function gets: resolved `props`, read access to the context, and the
    engine's services (secrets, pausing, checkpoints, trace events, cancellation)."""

    def __init__(
        self,
        *,
        execution: Any,
        record: Any,
        props: Any,
        scope: Scope,
        step: Mapping[str, Any],
    ) -> None:
        self._execution = execution
        self._record = record
        self._scope = scope
        self.props = props
        self.step = step
        self.path: str = record.path
        self.attempt: int = record.attempt
        self.idempotency_key: str = record.idempotency_key
        self.run_id: str = scope.run_id
        self.tenant_id: str = scope.tenant_id
        self.engine: Engine = execution.engine

    @property
    def context(self) -> Mapping[str, Any]:
        """The context this step sees (read-only)."""
        return MappingProxyType(self._scope.data)

    @property
    def state(self) -> Any:
        """The step's last checkpoint (`save_state`), None on its first attempt."""
        return self._record.state

    def resolve(self, value: Any) -> Any:
        """Resolve a value (e.g. a tool input template) against this step's context."""
        return self.engine.resolve(value, self._scope)

    def add_secret(self, value: Any) -> None:
        """Mark `value` secret: it is redacted from the stored context, records and traces."""
        self._scope.add_secret(value)

    def pause(
        self,
        kind: str,
        payload: Any = None,
        *,
        key: str = "0",
        ttl_seconds: float | None = None,
        waiting: bool = False,
    ) -> Any:
        """Suspend the run for a decision (a human, or `waiting=True` for a system event).

        Returns the decision once `flows.resume()` gave one for this `key`; until then it
        raises (the run pauses, holding no thread and no job) and the step runs again from
        its start when resumed, so code before the pause must be safe to repeat.
        """
        decisions = self._record.decisions or {}
        if key in decisions:
            return decisions[key]
        raise PauseRequested(kind, payload, key, ttl_seconds, "waiting" if waiting else "paused")

    def save_state(self, state: Any) -> None:
        """Commit a checkpoint now; a retried attempt (after a crash) reads it as `state`."""
        self._execution.save_state(self._record, state)

    def trace(self, kind: str, data: Any = None) -> None:
        """Append a custom event to the run's trace (redacted, committed now)."""
        self._execution.trace(kind, self.path, data)

    def cancelled(self) -> bool:
        """Whether the run was cancelled (or taken over) since it started: long steps stop."""
        return self._execution.stopped()


class Engine:
    """A product's engine: step-type registry, resolver, `when` test and event hook."""

    def __init__(
        self,
        name: str,
        *,
        resolve: Resolver = default_resolve,
        test: Test = default_test,
        on_event: Callable[[FlowEvent], None] | None = None,
    ) -> None:
        self.name = name
        self.resolve = resolve
        self.test = test
        self.on_event = on_event
        self.steps: dict[str, StepFn] = {}
        _ENGINES[name] = self

    def register_step(self, type: str, fn: StepFn) -> None:
        """Register step type `type` (a product's name wins over nothing; control types are
        reserved)."""
        if type in CONTROL_TYPES:
            raise ValueError(f"{type!r} is a built-in control step")
        self.steps[type] = fn

    def emit(self, event: FlowEvent) -> None:
        """Hand an event to the product's hook; a failing hook is logged, never raised."""
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception:
            log.exception("flows: the %s event hook failed on %s", self.name, event.kind)

    def validate(self, definition: Mapping[str, Any]) -> None:
        """Check a compiled definition's shape and step types; raises InvalidDefinitionError."""
        if not isinstance(definition, Mapping):
            raise InvalidDefinitionError("the definition must be an object")
        self._validate_steps(definition.get("steps"), "")
        if "when_false" in definition:
            self._validate_steps(definition["when_false"], "when_false")

    def _validate_steps(self, steps: Any, prefix: str) -> None:
        if not isinstance(steps, list):
            raise InvalidDefinitionError("steps must be a list", prefix)
        for index, step in enumerate(steps):
            path = f"{prefix}/{index}" if prefix else str(index)
            if not isinstance(step, Mapping) or not isinstance(step.get("type"), str):
                raise InvalidDefinitionError("a step must be an object with a type", path)
            kind = step["type"]
            props = step.get("props") or {}
            if kind == "foreach":
                if "items" not in props:
                    raise InvalidDefinitionError("foreach needs props.items", path)
                self._validate_steps(props.get("steps"), f"{path}/items/*")
            elif kind == "condition":
                for b, branch in enumerate(props.get("branches") or []):
                    self._validate_steps(branch.get("steps"), f"{path}/branches/{b}")
                if "else" in props:
                    self._validate_steps(props["else"], f"{path}/else")
            elif kind not in self.steps:
                raise InvalidDefinitionError(f"unknown step type {kind!r}", path)
            if "else" in step:
                self._validate_steps(step["else"], f"{path}/else")


_ENGINES: dict[str, Engine] = {}


def get_engine(name: str) -> Engine:
    """The engine registered under `name`; raises UnknownEngineError."""
    try:
        return _ENGINES[name]
    except KeyError:
        raise UnknownEngineError(f"no flows engine {name!r} is registered here") from None
