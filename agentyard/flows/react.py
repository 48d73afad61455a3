"""A ReAct agent loop as a step type: prompt → the model answers JSON `{thought, action,
action_input}` → allowlist check → tool → observation → stuck detection → ... until
`__complete__` or `max_iterations`.

    react.install(engine, call_tool=run_action, run_workflow=start_child)   # type "react"

Step props: `objective` (templated by the product's resolver), `tools` (names, or
`{name, description, input_schema}`), `max_iterations` (10), `on_stuck` `fail` | `escalate` |
`retry_with_hint` (`fail`), `stuck_threshold` (3), `stuck_hint` (the hint `retry_with_hint` adds;
a generic one by default), `model`, `max_tokens` (1024), `system`
(extra instructions), `context` (anything the prompt should show).

Built-in tools are always allowed: `__complete__ {answer, confidence}`, `__pause_for_human__
{question}` (pauses the run; the human's decision is the next observation),
`__store_memory__ {key, value}`, `__retrieve_memory__ {key}`, `__log_progress__ {message}`
(a trace event) and `__run_workflow__` (the product's `run_workflow` hook; without one the
call is answered with an error observation). An action outside the declared tools is not run:
the rejection is the observation.

Stuck detection (since the last hint or escalation): the same action with the same input
`stuck_threshold` times in a row; an A/B/A/B alternation; the same thought `stuck_threshold`
times in a row. `fail` fails the step (`StuckError`), `escalate` pauses for a human (their
answer is the next observation), `retry_with_hint` adds a hint to the prompt and goes on.

The model is an `agentyard.llm` provider (the runtime's configured one by default). The
offline provider cannot plan, so with it the loop is driven deterministically: each declared
tool is called once in order with an input generated from its `input_schema`, then
`__complete__` with a summary of the observations. After every iteration the loop's history is
checkpointed (`ctx.save_state`), so a run taken over by another worker continues where it was;
tool calls get the idempotency key `<step key>:<iteration>`.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentyard.flows.engine import Engine, StepContext
from agentyard.flows.errors import StuckError
from agentyard.llm import Provider, make_provider
from agentyard.llm.schema_values import example_value

COMPLETE = "__complete__"
PAUSE_FOR_HUMAN = "__pause_for_human__"
STORE_MEMORY = "__store_memory__"
RETRIEVE_MEMORY = "__retrieve_memory__"
LOG_PROGRESS = "__log_progress__"
RUN_WORKFLOW = "__run_workflow__"
ON_STUCK = ("fail", "escalate", "retry_with_hint")
OBSERVATION_LIMIT = 4000
DEFAULT_MODEL = "claude-sonnet-4-5"


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


BUILTIN_TOOLS: dict[str, dict[str, Any]] = {
    COMPLETE: {
        "description": "Finish: give the final answer and your confidence (0-1).",
        "input_schema": _schema(
            {
                "answer": {"type": "string"},
                "confidence": {"type": "number"},
                "summary": {"type": "string"},
            },
            ["answer"],
        ),
    },
    PAUSE_FOR_HUMAN: {
        "description": "Ask a human and wait for the answer.",
        "input_schema": _schema({"question": {"type": "string"}}, ["question"]),
    },
    STORE_MEMORY: {
        "description": "Remember a value under a key for later iterations.",
        "input_schema": _schema({"key": {"type": "string"}, "value": {}}, ["key", "value"]),
    },
    RETRIEVE_MEMORY: {
        "description": "Recall the value stored under a key.",
        "input_schema": _schema({"key": {"type": "string"}}, ["key"]),
    },
    LOG_PROGRESS: {
        "description": "Record a progress note in the run's trace.",
        "input_schema": _schema({"message": {"type": "string"}}, ["message"]),
    },
    RUN_WORKFLOW: {
        "description": "Run a workflow and observe its result.",
        "input_schema": _schema(
            {"workflow_id": {"type": "string"}, "input": {"type": "object"}}, ["workflow_id"]
        ),
    },
}

ToolRunner = Callable[[StepContext, str, dict[str, Any], str], Any]
WorkflowRunner = Callable[[StepContext, dict[str, Any], str], Any]


@dataclass(frozen=True)
class Tool:
    """A tool the agent may call."""

    name: str
    description: str = ""
    input_schema: Mapping[str, Any] | None = None

    @classmethod
    def parse(cls, spec: Any) -> Tool:
        """A tool from a name or a `{name, description, input_schema}` object."""
        if isinstance(spec, str):
            return cls(spec)
        return cls(
            str(spec.get("name")),
            str(spec.get("description") or ""),
            spec.get("input_schema") or spec.get("schema"),
        )


def default_provider() -> Provider:
    """The runtime's configured LLM provider (offline when nothing is configured)."""
    from agentyard.core import runtime

    try:
        s = runtime.settings()
    except RuntimeError:
        return make_provider("offline")
    return make_provider(
        s.llm_provider,
        base_url=s.llm_base_url,
        api_key=s.llm_api_key,
        timeout=s.llm_timeout_seconds,
        connect_timeout=s.llm_connect_timeout_seconds,
        max_retries=s.llm_max_retries,
        model=s.llm_model,
    )


def install(
    engine: Engine,
    *,
    call_tool: ToolRunner | None = None,
    run_workflow: WorkflowRunner | None = None,
    provider: Callable[[], Provider] = default_provider,
    type: str = "react",
) -> ReactStep:
    """Register the ReAct loop as step type `type` on `engine`; returns the step."""
    step = ReactStep(call_tool=call_tool, run_workflow=run_workflow, provider=provider)
    engine.register_step(type, step)
    return step


# -- stuck detection ------------------------------------------------------------------------


def _signature(it: Mapping[str, Any]) -> str:
    return json.dumps([it.get("action"), it.get("action_input")], sort_keys=True, default=str)


def detect_stuck(iterations: Sequence[Mapping[str, Any]], threshold: int = 3) -> str | None:
    """Why the loop looks stuck, or None: a repeated action+input, an A/B alternation, or a
    repeated thought (each looked for at the end of `iterations`)."""
    threshold = max(2, threshold)
    tail = iterations[-threshold:]
    if len(tail) == threshold and len({_signature(it) for it in tail}) == 1:
        return f"the same action {tail[-1].get('action')!r} with the same input {threshold} times"
    last4 = [_signature(it) for it in iterations[-4:]]
    if len(last4) == 4 and last4[0] == last4[2] and last4[1] == last4[3] and last4[0] != last4[1]:
        names = (iterations[-4].get("action"), iterations[-3].get("action"))
        return f"alternating between {names[0]!r} and {names[1]!r}"
    thoughts = [str(it.get("thought") or "").strip() for it in tail]
    if len(thoughts) == threshold and thoughts[0] and len(set(thoughts)) == 1:
        return f"the same thought {threshold} times"
    return None


# -- the offline planner ---------------------------------------------------------------------


def offline_decision(objective: str, tools: list[Tool], iterations: list[dict[str, Any]]) -> dict:
    """What the offline "model" answers: the next declared tool not yet called (input from
    its schema), then `__complete__` with a summary of the observations."""
    called = {it.get("action") for it in iterations if not it.get("rejected")}
    declared = [t for t in tools if t.name not in BUILTIN_TOOLS]
    for position, tool in enumerate(declared, start=1):
        if tool.name not in called:
            schema = dict(tool.input_schema or {"type": "object"})
            return {
                "thought": f"[offline] Calling {tool.name} (tool {position} of {len(declared)}).",
                "action": tool.name,
                "action_input": example_value(schema),
            }
    seen = [
        f"{it['action']}: {_text(it.get('observation'))}"
        for it in iterations
        if it.get("action") not in (None, COMPLETE)
    ]
    summary = f"[offline] Objective: {objective}. " + (
        "Observations: " + "; ".join(seen) if seen else "No tools were called."
    )
    return {
        "thought": "[offline] Every declared tool has been called once; completing.",
        "action": COMPLETE,
        "action_input": {"answer": summary, "confidence": 1.0},
    }


# -- the model -------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _truncate(value: Any) -> Any:
    text = _text(value)
    if len(text) <= OBSERVATION_LIMIT:
        return value
    return text[:OBSERVATION_LIMIT] + f"... [truncated {len(text) - OBSERVATION_LIMIT} chars]"


def system_prompt(tools: list[Tool], extra: str | None) -> str:
    """The system prompt: the loop's rules and every tool the agent may call."""
    lines = [
        "You are an AI agent. Work towards the objective step by step.",
        "Answer every turn with ONE JSON object and nothing else:",
        '{"thought": "<your reasoning>", "action": "<tool name>", "action_input": {...}}',
        f"When the objective is met, use the action {COMPLETE}.",
        "Tools:",
    ]
    for tool in tools:
        schema = json.dumps(tool.input_schema or {"type": "object"}, separators=(",", ":"))
        lines.append(f"- {tool.name}: {tool.description} input schema: {schema}")
    if extra:
        lines.append(extra)
    return "\n".join(lines)


def transcript(
    objective: str, context: Any, iterations: list[dict[str, Any]], hints: list[str]
) -> str:
    """The user turn: the objective, the history so far, and any hints."""
    parts = [f"Objective: {objective}"]
    if context:
        parts.append(f"Context: {_text(context)}")
    for it in iterations:
        parts.append(
            f"Iteration {it['iteration']}:\nThought: {it.get('thought')}\n"
            f"Action: {it.get('action')}\nAction input: {_text(it.get('action_input'))}\n"
            f"Observation: {_text(it.get('observation'))}"
        )
    for hint in hints:
        parts.append(f"Hint: {hint}")
    parts.append("What is your next step? Answer with the JSON object only.")
    return "\n\n".join(parts)


_JSON = re.compile(r"\{.*\}", re.DOTALL)


def parse_answer(text: str) -> dict[str, Any] | None:
    """The `{thought, action, action_input}` object in a model's reply, or None."""
    match = _JSON.search(text or "")
    if match is None:
        return None
    try:
        answer = json.loads(match.group(0))
    except ValueError:
        return None
    if not isinstance(answer, dict) or not isinstance(answer.get("action"), str):
        return None
    if not isinstance(answer.get("action_input"), dict):
        answer["action_input"] = (
            {} if answer.get("action_input") is None else {"value": answer["action_input"]}
        )
    return answer


async def _ask(provider: Provider, request: dict[str, Any]) -> dict[str, Any]:
    try:
        return await provider.create(request)
    finally:
        await provider.aclose()


class ReactStep:
    """The step function (see the module docstring)."""

    def __init__(
        self,
        *,
        call_tool: ToolRunner | None,
        run_workflow: WorkflowRunner | None,
        provider: Callable[[], Provider],
    ) -> None:
        self.call_tool = call_tool
        self.run_workflow = run_workflow
        self.provider = provider

    def __call__(self, ctx: StepContext) -> dict[str, Any]:
        props = ctx.props or {}
        objective = str(props.get("objective") or "")
        declared = [Tool.parse(t) for t in props.get("tools") or []]
        tools = declared + [
            Tool(name, spec["description"], spec["input_schema"])
            for name, spec in BUILTIN_TOOLS.items()
            if name not in {t.name for t in declared}
        ]
        allowed = {t.name for t in tools}
        max_iterations = max(1, int(props.get("max_iterations") or 10))
        on_stuck = props.get("on_stuck") or "fail"
        if on_stuck not in ON_STUCK:
            on_stuck = "fail"
        threshold = int(props.get("stuck_threshold") or 3)
        state = dict(
            ctx.state or {"iterations": [], "memory": {}, "hints": [], "window": 0, "pending": None}
        )
        iterations: list[dict[str, Any]] = state["iterations"]

        if state.get("pending"):
            pending = state["pending"]
            decision = ctx.pause(pending["kind"], pending["payload"], key=pending["key"])
            human = f"Human input: {_text(decision)}"
            last = iterations[-1]
            if pending["kind"] == "escalation" and last.get("observation") is not None:
                human = f"{_text(last['observation'])}\n{human}"
            self._observe(last, human)
            state["pending"] = None
            ctx.save_state(state)

        while len(iterations) < max_iterations:
            if ctx.cancelled():
                return self._output(state, "cancelled", None)
            n = len(iterations) + 1
            answer = self._decide(ctx, props, objective, tools, state)
            it: dict[str, Any] = {"iteration": n}
            if answer is None:
                it.update(thought="", action=None, action_input={})
                it["observation"] = (
                    "Error: the answer was not a JSON object "
                    '{"thought", "action", "action_input"}; answer with one.'
                )
                iterations.append(it)
            else:
                it.update(
                    thought=str(answer.get("thought") or ""),
                    action=answer["action"],
                    action_input=answer.get("action_input") or {},
                )
                iterations.append(it)
                if it["action"] == COMPLETE:
                    it["observation"] = "completed"
                    ctx.trace("agent_iteration", it)
                    ctx.save_state(state)
                    return self._output(state, "complete", it["action_input"])
                if it["action"] not in allowed:
                    it["rejected"] = True
                    it["observation"] = (
                        f"Error: the tool {it['action']!r} is not available to you. "
                        f"Allowed tools: {', '.join(sorted(allowed))}."
                    )
                elif it["action"] == PAUSE_FOR_HUMAN:
                    payload = {"question": it["action_input"].get("question"), "iteration": n}
                    self._pause(ctx, state, "human", f"human-{n}", payload)
                else:
                    self._observe(it, self._run_tool(ctx, it, state))
            ctx.trace("agent_iteration", it)
            reason = detect_stuck(iterations[state["window"] :], threshold)
            if reason is not None:
                ctx.trace("agent_stuck", {"reason": reason, "on_stuck": on_stuck})
                state["window"] = len(iterations)
                if on_stuck == "fail":
                    ctx.save_state(state)
                    raise StuckError(reason)
                if on_stuck == "escalate":
                    payload = {"reason": reason, "iteration": n}
                    self._pause(ctx, state, "escalation", f"stuck-{n}", payload)
                else:
                    hint = props.get("stuck_hint") or (
                        f"Try a different action or different input, or finish with {COMPLETE}."
                    )
                    state["hints"].append(f"You look stuck ({reason}). {hint}")
            ctx.save_state(state)
        return self._output(state, "max_iterations", None)

    @staticmethod
    def _observe(it: dict[str, Any], observation: Any) -> None:
        it["observation"] = _truncate(observation)

    @staticmethod
    def _pause(
        ctx: StepContext, state: dict[str, Any], kind: str, key: str, payload: dict[str, Any]
    ) -> None:
        state["pending"] = {"kind": kind, "key": key, "payload": payload}
        ctx.save_state(state)
        ctx.trace("agent_paused", {"kind": kind, **payload})
        ctx.pause(kind, payload, key=key)  # raises: the run pauses here

    def _decide(
        self,
        ctx: StepContext,
        props: Mapping[str, Any],
        objective: str,
        tools: list[Tool],
        state: dict[str, Any],
    ) -> dict[str, Any] | None:
        provider = self.provider()
        if getattr(provider, "offline", False):
            return offline_decision(objective, tools, state["iterations"])
        request = {
            "model": props.get("model") or DEFAULT_MODEL,
            "max_tokens": int(props.get("max_tokens") or 1024),
            "system": system_prompt(tools, props.get("system")),
            "messages": [
                {
                    "role": "user",
                    "content": transcript(
                        objective, props.get("context"), state["iterations"], state["hints"]
                    ),
                }
            ],
        }
        reply = asyncio.run(_ask(provider, request))
        text = "".join(
            b.get("text", "") for b in reply.get("content") or [] if b.get("type") == "text"
        )
        return parse_answer(text)

    def _run_tool(self, ctx: StepContext, it: dict[str, Any], state: dict[str, Any]) -> Any:
        action, args = it["action"], it["action_input"]
        key = f"{ctx.idempotency_key}:{it['iteration']}"
        if action == STORE_MEMORY:
            state["memory"][str(args.get("key"))] = args.get("value")
            return f"stored under {args.get('key')!r}"
        if action == RETRIEVE_MEMORY:
            name = str(args.get("key"))
            if name in state["memory"]:
                return state["memory"][name]
            return f"nothing is stored under {name!r}"
        if action == LOG_PROGRESS:
            ctx.trace("agent_progress", {"message": args.get("message")})
            return "logged"
        try:
            if action == RUN_WORKFLOW:
                if self.run_workflow is None:
                    return "Error: running workflows is not available here."
                return self.run_workflow(ctx, args, key)
            if self.call_tool is None:
                return f"Error: no runner for the tool {action!r}."
            return self.call_tool(ctx, action, args, key)
        except Exception as exc:  # a failing tool is an observation, not the loop's end
            return f"Error: {type(exc).__name__}: {exc}"

    @staticmethod
    def _output(state: dict[str, Any], reason: str, final: Mapping[str, Any] | None) -> dict:
        final = final or {}
        return {
            "completed": reason == "complete",
            "stop_reason": reason,
            "final_answer": final.get("answer"),
            "confidence": final.get("confidence"),
            "summary": final.get("summary"),
            "iterations": len(state["iterations"]),
            "trace": state["iterations"],
            "memory": state["memory"],
        }
