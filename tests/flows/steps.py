"""The test product: an engine with a few step types, importable by subprocess workers."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from agentyard import flows
from agentyard.flows import Result, StepContext, StepFailed, react

VAULT = {"api_token": "sk-live-0123456789abcdef"}


def resolve(value: Any, scope: flows.Scope) -> Any:
    """The default resolver, plus `vault:<name>` references resolved as secrets."""
    if isinstance(value, str) and value.startswith("vault:"):
        secret = VAULT[value[len("vault:") :]]
        scope.add_secret(secret)
        return secret
    if isinstance(value, dict):
        return {k: resolve(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, scope) for v in value]
    return flows.default_resolve(value, scope)


ENGINE = flows.Engine("flows-test", resolve=resolve)
events: list[flows.FlowEvent] = []
ENGINE.on_event = events.append

_gauge_lock = threading.Lock()
gauge = {"now": 0, "max": 0}


def record(ctx: StepContext) -> Any:
    """Append `start`/`end` lines (path, attempt, idempotency key) to props.log; sleep."""
    props = ctx.props
    line = {"path": ctx.path, "attempt": ctx.attempt, "key": ctx.idempotency_key}
    with open(props["log"], "a") as f:
        f.write(json.dumps({"event": "start", **line}) + "\n")
    time.sleep(float(props.get("sleep", 0)))
    with open(props["log"], "a") as f:
        f.write(json.dumps({"event": "end", **line}) + "\n")
    return props.get("value")


def overlap(ctx: StepContext) -> Any:
    """Sleep while counting how many run at once."""
    with _gauge_lock:
        gauge["now"] += 1
        gauge["max"] = max(gauge["max"], gauge["now"])
    try:
        time.sleep(float(ctx.props.get("sleep", 0.3)))
    finally:
        with _gauge_lock:
            gauge["now"] -= 1
    return {"item": ctx.props.get("item")}


def fail(ctx: StepContext) -> Any:
    raise StepFailed(ctx.props.get("message", "it failed"), code="boom")


def fail_on(ctx: StepContext) -> Any:
    if ctx.props.get("value") == ctx.props.get("bad"):
        raise StepFailed(f"bad value {ctx.props.get('value')}")
    return ctx.props.get("value")


def approve(ctx: StepContext) -> Any:
    """Pause for a human; the decision becomes the output and `__approved` in the context."""
    decision = ctx.pause(
        ctx.props.get("kind", "approval"),
        {"comment": ctx.props.get("comment")},
        ttl_seconds=ctx.props.get("ttl_seconds"),
    )
    if not decision.get("approved"):
        raise StepFailed("rejected", code="rejected")
    return Result(output=decision, context={"__approved": True})


def secret_call(ctx: StepContext) -> Any:
    """Resolve a secret (here: from props), use it, echo it back in the output."""
    token = ctx.props["token"]
    ctx.add_secret(token)
    ctx.trace("calling", {"authorization": f"Bearer {token}"})
    return {"authorization": f"Bearer {token}", "ok": True}


def echo(ctx: StepContext) -> Any:
    return ctx.props


for name, fn in {
    "record": record,
    "overlap": overlap,
    "fail": fail,
    "fail_on": fail_on,
    "approve": approve,
    "secret_call": secret_call,
    "echo": echo,
}.items():
    ENGINE.register_step(name, fn)


# -- the ReAct step: tools answer from a table; the model is switchable per test ----------

tool_calls: list[tuple[str, dict, str]] = []
MODEL: dict[str, Any] = {"factory": react.default_provider}


def call_tool(ctx: StepContext, name: str, args: dict, key: str) -> Any:
    tool_calls.append((name, args, key))
    if name == "explode":
        raise RuntimeError("the tool broke")
    return {"tool": name, "echo": args}


def run_workflow(ctx: StepContext, args: dict, key: str) -> Any:
    return {"workflow": args.get("workflow_id"), "status": "completed"}


react.install(
    ENGINE, call_tool=call_tool, run_workflow=run_workflow, provider=lambda: MODEL["factory"]()
)
