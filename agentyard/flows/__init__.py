"""The durable workflow engine: runs, steps, pauses for humans, traces. It knows no product.

A product (Hyphen, HASP Studio, the HASP runtime, ...) compiles its own definition format onto
one compiled form and provides:

- an `Engine(name, resolve=..., test=..., on_event=...)`: its step-type registry
  (`engine.register_step(type, fn)`), a context/template resolver that turns a step's `props`
  into values (the default understands `@a.b` paths and `{{ a.b }}` templates; a product's
  resolver also resolves its secret references and marks them with `scope.add_secret`), a
  `test` that decides a `when` (default: truthiness), and an optional `on_event(FlowEvent)`
  hook that sees every trace event after it is committed (webhooks, notifications);
- step functions `fn(ctx) -> output` (or `Result(output, context={...})` to merge keys into
  the context); `ctx` gives resolved `props`, read-only `context`, `idempotency_key` (the same
  on every attempt of the step: send it with calls that leave the process), `add_secret`,
  `pause(kind, payload, key=, ttl_seconds=, waiting=)` (status `paused` for a human,
  `waiting` for a system event), `state`/`save_state` checkpoints, `trace`, `resolve`, and
  `cancelled()`; raise `StepFailed` to fail cleanly (any other exception fails the step too).

The compiled form:

    {"steps": [{"type", "props", "output_key", "when", "else": [steps]}],
     "when": <test>, "when_false": [steps], "output": <resolvable>}

A false definition `when` ends the run `condition_not_met` with no step run (or runs
`when_false` instead when given). A step whose `when` is false is skipped, or its `else`
steps run. Built-in control steps: `foreach` (props `items`, `item_variable` = "item",
`index_variable` = "index", `item_aliases` (more names for the item), `steps`,
`max_concurrency` = 1 - really concurrent threads, at most that many -,
`failure_strategy` "fail_fast" | "continue" (also "stop_on_error" | "continue_on_error"),
`collect_results` = true; output `{count, succeeded, failed, errors,
results}` where each result holds the iteration's output keys) and `condition` (props
`branches: [{when, steps}]`, `else: [steps]`; the chosen branch's outputs land in the
enclosing context). `flows.react` adds a ReAct agent loop as a step type.

What the engine guarantees:

- Durable runs: `start()` stores a run and enqueues a job (agentyard.core.jobs: Huey on SQLite,
  or on Redis with REDIS_URL), and any worker may advance it. Each step's start and its result
  are committed before the next step begins, and every decision is recorded, so a worker that
  dies mid-run loses nothing: its lease (`flows_lease_seconds`, renewed while it works) lapses,
  the reaper (`flows_reaper_seconds`) re-enqueues the run, and the next worker replays the
  records and resumes at the interrupted step. A completed step never runs again; the
  interrupted one runs again with `attempt` + 1 and the same `idempotency_key`.
- Pausing holds no thread and no job: a paused run is rows only. `resume(run_id, path,
  decision)` enqueues the continuation (the paused step runs again and `ctx.pause` returns the
  decision); deciding a run that is not paused there raises `NotPausedError`. A pause with a
  TTL fails the run with a `timeout` error once it passes (checked by the reaper).
- `cancel(run_id)`: a step running now finishes and its result is recorded; nothing after it
  runs.
- Traces: every run has ordered events (run/step started, completed, failed, skipped, paused,
  resumed, ...). Values marked secret are replaced by `[REDACTED]` in everything stored: the
  context snapshot, step inputs/outputs, errors and traces.
"""

from agentyard.flows.engine import (
    CONTROL_TYPES,
    Engine,
    FlowEvent,
    Result,
    StepContext,
    get_engine,
)
from agentyard.flows.errors import (
    FlowError,
    InvalidDefinitionError,
    NotPausedError,
    RunNotFoundError,
    StepFailed,
    StuckError,
    UnknownEngineError,
)
from agentyard.flows.models import RUN_STATUSES, Run, StepRecord, TraceEvent
from agentyard.flows.runs import (
    advance,
    cancel,
    enqueue,
    get_run,
    resume,
    start,
    step_records,
    sweep,
    trace,
)
from agentyard.flows.scope import Scope, default_resolve, default_test, lookup
from agentyard.flows.secrets import REDACTED

__all__ = [
    "CONTROL_TYPES",
    "REDACTED",
    "RUN_STATUSES",
    "Engine",
    "FlowError",
    "FlowEvent",
    "InvalidDefinitionError",
    "NotPausedError",
    "Result",
    "Run",
    "RunNotFoundError",
    "Scope",
    "StepContext",
    "StepFailed",
    "StepRecord",
    "StuckError",
    "TraceEvent",
    "UnknownEngineError",
    "advance",
    "cancel",
    "default_resolve",
    "default_test",
    "enqueue",
    "get_engine",
    "get_run",
    "lookup",
    "resume",
    "start",
    "step_records",
    "sweep",
    "trace",
]
