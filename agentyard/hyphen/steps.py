"""Hyphen's primitives as flows step types (registered on the `hyphen` engine on import).

- `matcher`: see `agentyard.hyphen.matcher` (a `doc:<id>` side reads the org's CSV or JSON
  document, `documents.records`); the three result lists land in the context under
  their output keys (and the step's `outputKey`, if any, gets all three).
- `PbotApproval`: pauses (kind `approval`) with `{comment, request_payload}`; the decision
  `{approved, comment, data}` is merged into the context as `__approved`, `__comment` and the
  keys of `data`. An approval resumes the run at the next step; a rejection ends the run
  `failed` (error code `rejected`). Extension: `"on_reject": "continue"` resumes the run after a
  rejection too, with `@__approved` false to branch on.
- `PbotForm`: pauses (kind `form`) with `{expected_keys, ttl_seconds, reminder_intervals}`;
  the submitted keys are merged into the context. `ttl_seconds` fails the run with a timeout
  error when it passes (the flows reaper).
- `custom-table`: read / write / update / upsert on the org's tables (`actions.table_operation`).
- `hyphen.action`: a registered action used as a step (`actions.execute`).
- `hyphen.react`: the ReAct agent loop (`agentyard.hyphen.agents`).
- `hyphen.oauth_tool`: a built-in OAuth tool (`agentyard.hyphen.oauth_tools`).
"""

from __future__ import annotations

from typing import Any

from agentyard.core import clock
from agentyard.core.store import connection
from agentyard.flows import Result, StepContext, StepFailed
from agentyard.hyphen import actions, agents, documents, matcher, oauth_tools
from agentyard.hyphen.engine import ENGINE


def _side(ctx: StepContext, value: Any) -> Any:
    """A matcher side: a `doc:<id>` reference reads the org's CSV or JSON document."""
    if isinstance(value, str) and value.startswith(documents.REF_PREFIX):
        try:
            with connection():
                return documents.records(ctx.tenant_id, value)
        except documents.RecordsError as exc:
            raise StepFailed(str(exc), code="invalid_properties") from None
    return value


def matcher_step(ctx: StepContext) -> Any:
    props = ctx.props or {}
    left, right = _side(ctx, props.get("left")), _side(ctx, props.get("right"))
    if not isinstance(left, list) or not isinstance(right, list):
        raise StepFailed(
            "matcher left and right must resolve to arrays "
            f"(got {type(left).__name__} and {type(right).__name__})",
            code="invalid_properties",
        )
    try:
        spec = matcher.spec_from(props)
    except matcher.MatcherError as exc:
        raise StepFailed(str(exc), code="invalid_properties") from None
    result = matcher.match(left, right, spec)
    k_matched, k_left, k_right = matcher.output_keys(props)
    merged = {
        k_matched: result["matched"],
        k_left: result["unmatchedLeft"],
        k_right: result["unmatchedRight"],
    }
    return Result(output=merged, context=merged)


def approval_step(ctx: StepContext) -> Any:
    props = ctx.props or {}
    payload = {
        "comment": props.get("comment"),
        "request_payload": props.get("request_payload") or {},
    }
    decision = ctx.pause("approval", payload)
    approved = bool(decision.get("approved"))
    comment = decision.get("comment")
    data = decision.get("data") if isinstance(decision.get("data"), dict) else {}
    if not approved and props.get("on_reject") != "continue":
        raise StepFailed(
            f"the approval was rejected{': ' + comment if comment else ''}", code="rejected"
        )
    output = {
        "approved": approved,
        "comment": comment,
        "data": data,
        "decided_at": decision.get("decided_at") or clock.iso(clock.now()),
    }
    return Result(output=output, context={**data, "__approved": approved, "__comment": comment})


def form_step(ctx: StepContext) -> Any:
    props = ctx.props or {}
    ttl = props.get("ttl_seconds")
    payload = {
        "expected_keys": list(props.get("expected_keys") or []),
        "ttl_seconds": ttl,
        "reminder_intervals": list(props.get("reminder_intervals") or []),
        "title": props.get("title"),
        "description": props.get("description"),
    }
    decision = ctx.pause("form", payload, ttl_seconds=float(ttl) if ttl else None)
    data = decision.get("data") if isinstance(decision.get("data"), dict) else {}
    return Result(output=data, context=data)


def table_step(ctx: StepContext) -> Any:
    return actions.table_operation(ctx.tenant_id, ctx.props or {}, f"run:{ctx.run_id}")


def action_step(ctx: StepContext) -> Any:
    props = ctx.props or {}
    name = props.get("action")
    with connection():
        action = actions.by_name(ctx.tenant_id, str(name))
    if action is None:
        raise StepFailed(f"the action {name!r} is not registered (any more)", code="unknown_action")
    properties: dict[str, Any] = (
        props["properties"] if isinstance(props.get("properties"), dict) else {}
    )
    call = actions.Call(
        org_id=ctx.tenant_id,
        run_id=ctx.run_id,
        properties=properties,
        context=dict(ctx.context),
        idempotency_key=ctx.idempotency_key,
        add_secret=ctx.add_secret,
    )
    output = actions.execute(action, call)
    if action.output_key and not ctx.step.get("output_key"):
        return Result(output=output, context={action.output_key: output})
    return output


def oauth_tool_step(ctx: StepContext) -> Any:
    props = ctx.props or {}
    properties = props["properties"] if isinstance(props.get("properties"), dict) else {}
    try:
        return oauth_tools.run(ctx.tenant_id, str(props.get("tool")), dict(properties))
    except oauth_tools.ToolError as exc:
        raise StepFailed(str(exc), code="oauth_tool_failed") from None


ENGINE.register_step("matcher", matcher_step)
ENGINE.register_step("PbotApproval", approval_step)
ENGINE.register_step("PbotForm", form_step)
ENGINE.register_step("custom-table", table_step)
ENGINE.register_step("hyphen.action", action_step)
ENGINE.register_step("hyphen.react", agents.react_step)
ENGINE.register_step("hyphen.oauth_tool", oauth_tool_step)
