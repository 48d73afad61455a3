"""ReAct agents: the `loop` react step and standalone agent runs (`agent-<uuid>`).

Both run `agentyard.flows.react` on the `hyphen` engine; a standalone agent is a durable run
of one react step, so it pauses (`__pause_for_human__`, `on_stuck: escalate`) holding no
thread, survives a worker's death, and is cancelled like any run.

Tools: `{"type": "action", "name"}` (a registered action: its description and an input schema
derived from its configuration), `{"type": "workflow", "id"}` (runs that workflow with
`action_input.input`; the tool is named by the workflow id), and the legacy string form (an
action name or a built-in tool name). The built-in tools `__complete__`,
`__pause_for_human__`, `__store_memory__`, `__retrieve_memory__`, `__log_progress__` and
`__run_workflow__` (`{workflow_id | workflow_name, input}`) are always available.

A workflow an agent runs is a child run: started once per tool call (its id derives from the
call's idempotency key, so a retried call finds it), driven to its end in the agent's turn,
and listed in the agent's `triggered_runs`. If it pauses, the observation says so.

`on_stuck` is Hyphen's `{iterations, action, hint}` (or just the action name).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import peewee

from agentyard import flows
from agentyard.core import clock
from agentyard.core.errors import conflict, invalid, not_found
from agentyard.core.store import connection, write
from agentyard.flows import StepContext, react
from agentyard.flows.models import FINAL_STATUSES
from agentyard.hyphen import actions, definitions, oauth_tools
from agentyard.hyphen.engine import AGENT_PREFIX, ENGINE, RUN_PREFIX
from agentyard.hyphen.workflow_models import AGENT, RunIndex, Workflow

SENSITIVE = ("password", "secret", "token", "api_key", "apikey", "authorization", "credential")
TRACE_OBSERVATION_LIMIT = 2000
MAX_CHILD_DEPTH = 5
SYNC_WAIT_SECONDS = 60.0

# The model behind every Hyphen agent: the runtime's configured provider (tests swap it).
provider_factory: list[Callable[[], Any]] = [react.default_provider]


def _provider() -> Any:
    return provider_factory[-1]()


# -- tools ---------------------------------------------------------------------------------


def build_tools(org_id: str, declared: Any) -> list[dict[str, Any]]:
    """The react step's tool list for Hyphen's declarations (unknown ones are dropped: the
    definition was validated, an action deleted since then simply is not offered)."""
    tools: list[dict[str, Any]] = []
    seen: set[str] = set()
    for spec in declared or []:
        if isinstance(spec, str):
            spec = {"type": "action", "name": spec}
        if not isinstance(spec, Mapping):
            continue
        if spec.get("type") == "workflow":
            row = Workflow.get_or_none((Workflow.id == spec.get("id")) & (Workflow.org == org_id))
            if row is None or row.id in seen:
                continue
            seen.add(row.id)
            tools.append(
                {
                    "name": row.id,
                    "description": f"Run the workflow {row.name!r} and observe its result.",
                    "input_schema": {
                        "type": "object",
                        "properties": {"input": {"type": "object"}},
                        "required": [],
                    },
                }
            )
            continue
        name = str(spec.get("name"))
        if name in react.BUILTIN_TOOLS or name in seen:
            continue
        action = actions.by_name(org_id, name)
        if action is None and name in oauth_tools.TOOLS:
            seen.add(name)
            tool = oauth_tools.TOOLS[name]
            tools.append(
                {"name": name, "description": tool.description, "input_schema": tool.input_schema}
            )
            continue
        if action is None:
            continue
        seen.add(name)
        tools.append(
            {
                "name": name,
                "description": action.description or f"the {action.kind} action {name}",
                "input_schema": actions.input_schema(action),
            }
        )
    return tools


def call_tool(ctx: StepContext, name: str, args: dict[str, Any], key: str) -> Any:
    """Run a declared tool for the agent (an action, or a workflow named by its id)."""
    if name.startswith("wfl-"):
        return run_workflow(ctx, {"workflow_id": name, "input": args.get("input", args)}, key)
    with connection():
        action = actions.by_name(ctx.tenant_id, name)
    if action is None and name in oauth_tools.TOOLS:
        try:
            return oauth_tools.run(ctx.tenant_id, name, dict(args))
        except oauth_tools.ToolError as exc:
            return f"Error: {exc}"
    if action is None:
        return f"Error: the action {name!r} is not registered."
    call = actions.Call(
        org_id=ctx.tenant_id,
        run_id=ctx.run_id,
        properties=dict(args),
        context=dict(ctx.context),
        idempotency_key=key,
        add_secret=ctx.add_secret,
    )
    try:
        return actions.execute(action, call)
    except flows.StepFailed as exc:
        return f"Error: {exc.message}"


def _depth(run_id: str) -> int:
    depth = 0
    current: str | None = run_id
    while current and depth <= MAX_CHILD_DEPTH:
        row = RunIndex.get_or_none(RunIndex.run_id == current)
        current = row.parent_run_id if row else None
        depth += 1
    return depth


def run_workflow(ctx: StepContext, args: dict[str, Any], key: str) -> Any:
    """`__run_workflow__`: run a workflow of the org to its end (or first pause) as a child run."""
    from agentyard.hyphen import workflows

    with connection():
        ref = args.get("workflow_id")
        row = None
        if isinstance(ref, str):
            row = Workflow.get_or_none((Workflow.id == ref) & (Workflow.org == ctx.tenant_id))
        elif isinstance(args.get("workflow_name"), str):
            row = workflows.by_name(ctx.tenant_id, args["workflow_name"])
        if row is None:
            return f"Error: no workflow {ref or args.get('workflow_name')!r} in this org."
        if not _may_run(ctx, row):
            return f"Error: this agent may not run the workflow {row.name!r}."
        if _depth(ctx.run_id) > MAX_CHILD_DEPTH:
            return f"Error: workflows may nest at most {MAX_CHILD_DEPTH} deep."
        child_id = RUN_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:32]
        data = args.get("input") if isinstance(args.get("input"), dict) else {}
        if RunIndex.get_or_none(RunIndex.run_id == child_id) is None:
            try:
                workflows.execute(
                    ctx.tenant_id, row.id, data, run_id=child_id, parent_run_id=ctx.run_id
                )
            except Exception as exc:
                return f"Error: the workflow could not start: {getattr(exc, 'message', exc)}"
    run = _drive(child_id)
    return {
        "run_id": child_id,
        "workflow_id": row.id,
        "status": run.status,
        "output": run.output,
        "context": {k: v for k, v in (run.context or {}).items() if k != "input"},
        "error": run.error,
        **({"waiting_for": run.pause_kind} if run.status == "paused" else {}),
    }


def _may_run(ctx: StepContext, row: Workflow) -> bool:
    """Whether the agent's launcher allowed the workflow (`AgentSpec.allowed_workflows`)."""
    agent = (ctx.context or {}).get("__agent")
    allowed = agent.get("allowed_workflows") if isinstance(agent, dict) else None
    if not isinstance(allowed, list):
        return True
    return "*" in allowed or row.id in allowed or row.name in allowed


def _drive(run_id: str, wait: float = SYNC_WAIT_SECONDS) -> flows.Run:
    """Advance a run in this thread (or wait for the worker that holds it) until it is no
    longer running, or `wait` seconds passed."""
    deadline = time.monotonic() + wait
    with connection():
        flows.advance(run_id)
        while True:
            run = flows.get_run(run_id)
            if run.status != "running" or time.monotonic() > deadline:
                return run
            time.sleep(0.05)
            if flows.advance(run_id) is None:
                continue


def _on_stuck(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"on_stuck": value}
    if isinstance(value, Mapping):
        out: dict[str, Any] = {"on_stuck": value.get("action") or "fail"}
        if value.get("iterations"):
            out["stuck_threshold"] = int(value["iterations"])
        if value.get("hint"):
            out["stuck_hint"] = str(value["hint"])
        return out
    return {"on_stuck": "fail"}


def react_step(ctx: StepContext) -> Any:
    """The `loop` react step: Hyphen's properties onto flows.react."""
    props = dict(ctx.props or {})
    with connection():
        tools = build_tools(ctx.tenant_id, props.get("tools"))
    ctx.props = {
        "objective": props.get("objective") or "",
        "tools": tools,
        "max_iterations": props.get("max_iterations") or 10,
        "model": props.get("model"),
        "max_tokens": props.get("max_tokens"),
        "system": props.get("system") or props.get("instructions"),
        "context": props.get("context"),
        **_on_stuck(props.get("on_stuck")),
    }
    out = _REACT(ctx)
    return {**out, "answer": out.get("final_answer")}


_REACT = react.ReactStep(call_tool=call_tool, run_workflow=run_workflow, provider=_provider)


# -- standalone agent runs -------------------------------------------------------------------


@dataclass
class AgentSpec:
    """`POST /agents/execute`'s body, typed."""

    objective: str
    tools: list[Any] = field(default_factory=list)
    max_iterations: int = 10
    on_stuck: Any = None
    previous_run_id: str | None = None
    result_key: str | None = None
    context: Any = None
    model: str | None = None
    # the workflows `__run_workflow__` may start (ids or names, `*`: all); None: every one
    allowed_workflows: tuple[str, ...] | None = None


def _previous(org_id: str, run_id: str) -> dict[str, Any]:
    index = RunIndex.get_or_none(
        (RunIndex.run_id == run_id) & (RunIndex.org == org_id) & (RunIndex.kind == AGENT)
    )
    if index is None:
        raise not_found("agent run", run_id)
    state = status(org_id, run_id, include_trace=True)
    summary = [
        f"{it.get('action')}: {str(it.get('observation'))[:200]}" for it in state.get("trace") or []
    ]
    return {
        "previous_run_id": run_id,
        "previous_objective": state["objective"],
        "previous_final_answer": state["final_answer"],
        "previous_trace_summary": summary[-10:],
    }


def execute(org_id: str, spec: AgentSpec) -> str:
    """Validate and start a standalone agent run; returns its id."""
    if not isinstance(spec.objective, str) or not spec.objective.strip():
        raise invalid("objective is required")
    if (
        isinstance(spec.max_iterations, bool)
        or not isinstance(spec.max_iterations, int)
        or not 1 <= spec.max_iterations <= 100
    ):
        raise invalid("max_iterations must be an integer from 1 to 100")
    from agentyard.hyphen import workflows

    catalog = workflows.catalog(org_id)
    try:
        definitions.check_tools(spec.tools, catalog, "tools")
        if spec.on_stuck is not None:
            definitions._check_on_stuck(spec.on_stuck, "on_stuck")
        if spec.result_key is not None:
            definitions._name(spec.result_key, "result_key")
    except definitions.DefinitionError as exc:
        raise invalid(f"{exc.where}: {exc.message}") from None
    context: Any = spec.context
    if spec.previous_run_id:
        previous = _previous(org_id, spec.previous_run_id)
        context = {**previous, **({"context": context} if context is not None else {})}
    # The objective and context are data, not templates: the step reads them by reference,
    # so nothing in them is resolved (no @path, no {{ }}, no orgconfig: secret).
    props = {
        "objective": "@__agent.objective",
        "tools": spec.tools,
        "max_iterations": spec.max_iterations,
        "on_stuck": spec.on_stuck,
        "context": "@__agent.context",
        "model": spec.model,
    }
    definition = {
        "steps": [
            {
                "type": "hyphen.react",
                "props": props,
                "output_key": spec.result_key or "agent_result",
            }
        ]
    }
    run_id = f"{AGENT_PREFIX}{uuid.uuid4().hex}"
    with write():
        RunIndex.create(
            run_id=run_id,
            org=org_id,
            kind=AGENT,
            objective=spec.objective,
            previous_run_id=spec.previous_run_id,
            created_at=clock.now(),
        )
    agent: dict[str, Any] = {"objective": spec.objective, "context": context}
    if spec.allowed_workflows is not None:
        agent["allowed_workflows"] = list(spec.allowed_workflows)
    flows.start(ENGINE, org_id, definition, {}, context={"__agent": agent}, run_id=run_id)
    return run_id


def run_sync(run_id: str) -> None:
    """Drive a just-started agent run in this thread until it finishes or pauses."""
    _drive(run_id)


def _find(org_id: str, run_id: str) -> RunIndex:
    index = RunIndex.get_or_none(
        (RunIndex.run_id == run_id) & (RunIndex.org == org_id) & (RunIndex.kind == AGENT)
    )
    if index is None:
        raise not_found("agent run", run_id)
    return index


def _redact_input(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: "[REDACTED]" if any(s in k.lower() for s in SENSITIVE) else _redact_input(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_input(v) for v in value]
    return value


def _truncate(value: Any) -> Any:
    text = value if isinstance(value, str) else None
    if text is None:
        import json

        text = json.dumps(value, default=str)
        if len(text) <= TRACE_OBSERVATION_LIMIT:
            return value
    if len(text) <= TRACE_OBSERVATION_LIMIT:
        return text
    return (
        text[:TRACE_OBSERVATION_LIMIT]
        + f"... [truncated {len(text) - TRACE_OBSERVATION_LIMIT} chars]"
    )


def trace_items(run_id: str) -> list[dict[str, Any]]:
    """The agent's documented trace items, from its run's (redacted) trace events."""
    items = []
    for event in flows.trace(run_id):
        if event.kind != "agent_iteration" or not isinstance(event.data, dict):
            continue
        it = event.data
        observation = it.get("observation")
        success = not it.get("rejected") and not (
            isinstance(observation, str) and observation.startswith("Error")
        )
        items.append(
            {
                "iteration": it.get("iteration"),
                "timestamp": clock.iso(event.at),
                "thought": it.get("thought"),
                "action": it.get("action"),
                "action_input": _redact_input(it.get("action_input")),
                "observation": _truncate(observation),
                "success": success,
            }
        )
    return items


def status(org_id: str, run_id: str, *, include_trace: bool = False) -> dict[str, Any]:
    """`GET /agents/{id}/status`."""
    index = _find(org_id, run_id)
    run = flows.get_run(run_id)
    records = flows.step_records(run_id)
    record = records[0] if records else None
    output = record.output if record is not None and isinstance(record.output, dict) else {}
    state = record.state if record is not None and isinstance(record.state, dict) else {}
    iterations = output.get("iterations") if output else len(state.get("iterations") or [])
    children = [
        r.run_id
        for r in RunIndex.select(RunIndex.run_id)
        .where(RunIndex.parent_run_id == run_id)
        .order_by(RunIndex.created_at)
    ]
    status_value = run.status if run.status != "waiting" else "paused"
    body: dict[str, Any] = {
        "agent_run_id": run_id,
        "status": status_value,
        "objective": index.objective,
        "iterations": iterations or 0,
        "final_answer": output.get("final_answer"),
        "confidence": output.get("confidence"),
        "stop_reason": output.get("stop_reason"),
        "triggered_runs": children,
        "previous_run_id": index.previous_run_id,
        "pending": None,
        "error": run.error,
        "created_at": clock.iso(run.created_at),
        "completed_at": clock.iso(run.finished_at),
    }
    if run.status == "paused":
        payload = run.pause_payload if isinstance(run.pause_payload, dict) else {}
        body["pending"] = {"type": run.pause_kind, **payload}
    if include_trace:
        body["trace"] = trace_items(run_id)
    return body


def list_agents(
    org_id: str,
    status_filter: str | None,
    *,
    limit: int = 100,
    offset: int = 0,
    within: peewee.SelectQuery | None = None,
) -> list[dict[str, Any]]:
    """The org's agent runs, newest first (optionally of one status; `within`: a query of the
    run ids to keep)."""
    query = (
        RunIndex.select(RunIndex.run_id)
        .where((RunIndex.org == org_id) & (RunIndex.kind == AGENT))
        .order_by(RunIndex.created_at.desc(), RunIndex.run_id.desc())
    )
    if within is not None:
        query = query.where(RunIndex.run_id.in_(within))
    if status_filter:
        from agentyard.flows.models import Run

        wanted = [status_filter] + (["waiting"] if status_filter == "paused" else [])
        ids = Run.select(Run.id).where(Run.status.in_(wanted) & (Run.tenant == org_id))
        query = query.where(RunIndex.run_id.in_(ids))
    rows = query.limit(limit).offset(offset)
    return [status(org_id, r.run_id) for r in rows]


def count(
    org_id: str, status_filter: str | None = None, within: peewee.SelectQuery | None = None
) -> int:
    """How many agent runs the org has (of one status; among `within`)."""
    query = RunIndex.select().where((RunIndex.org == org_id) & (RunIndex.kind == AGENT))
    if within is not None:
        query = query.where(RunIndex.run_id.in_(within))
    if status_filter:
        from agentyard.flows.models import Run

        wanted = [status_filter] + (["waiting"] if status_filter == "paused" else [])
        ids = Run.select(Run.id).where(Run.status.in_(wanted) & (Run.tenant == org_id))
        query = query.where(RunIndex.run_id.in_(ids))
    return query.count()


def resume(org_id: str, run_id: str, human_input: Any) -> None:
    """Give a paused agent the human's answer (its next observation) and continue it."""
    _find(org_id, run_id)
    run = flows.get_run(run_id)
    if run.status not in ("paused", "waiting") or run.pause_path is None:
        raise conflict(f"the agent run {run_id} is {run.status}, not paused")
    try:
        flows.resume(run_id, run.pause_path, human_input)
    except flows.NotPausedError as exc:
        raise conflict(str(exc)) from None


def cancel(org_id: str, run_id: str) -> bool:
    """Cancel an agent run (a tool call in progress finishes; nothing after it runs)."""
    _find(org_id, run_id)
    run = flows.get_run(run_id)
    if run.status in FINAL_STATUSES:
        return False
    return flows.cancel(run_id, "cancelled by the caller")
