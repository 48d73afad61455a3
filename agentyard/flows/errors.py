"""The errors the workflow engine raises to products, and the ones steps raise to it."""

from __future__ import annotations

from typing import Any


class FlowError(Exception):
    """Base of the engine's errors."""


class UnknownEngineError(FlowError):
    """A run names an engine (product) no module registered in this process."""


class InvalidDefinitionError(FlowError):
    """A compiled definition the engine cannot run (unknown step type, bad shape); `path` is
    the offending step's path ("2/items/0" style) or "" for the definition itself."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.path = path


class RunNotFoundError(FlowError):
    """No run has this id."""


class NotPausedError(FlowError):
    """A decision for a run that is not paused at that path (e.g. deciding twice).

    `status` is the run's current status and `pause_path` where it waits now (or None)."""

    def __init__(self, run_id: str, path: str, status: str, pause_path: str | None) -> None:
        where = f"paused at {pause_path!r}" if pause_path else status
        super().__init__(f"run {run_id} is not paused at step {path!r} (it is {where})")
        self.run_id = run_id
        self.path = path
        self.status = status
        self.pause_path = pause_path


class StepFailed(FlowError):  # noqa: N818 - reads as what happened to the step
    """Raised by a step to fail it (and its run) with a clean message and a code."""

    def __init__(self, message: str, *, code: str = "step_failed", data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.data = data


class StuckError(StepFailed):
    """A ReAct loop detected it is stuck and its `on_stuck` is `fail`."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"agent is stuck: {reason}", code="stuck", data={"reason": reason})
        self.reason = reason
