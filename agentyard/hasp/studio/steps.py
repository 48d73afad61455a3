"""The step types of the `hasp-studio` engine (registered at import).

- `ai_chat`: one chat completion through `agentyard.llm` (offline provider unless configured)
  behind the PHI guard with the org's PHI policy (`redact`: PHI becomes numbered placeholders
  before the model and is restored in the reply; `block`: PHI fails the step `phi_blocked`;
  `allow`: sent as is). Output `{text, model, usage, phi: {mode, redacted}, request_id}`.
- `record_create` / `record_update` / `record_query`: through `record_port`.
- `integration_call`: through `integration_port`.
- In a test run's sandbox (`sandbox`), record writes and integration calls reach no port: they
  are recorded as `would_have_sent`; a called workflow runs its draft in the sandbox too.
- `approval`: pauses the run for a human decision (`{approved, comment?, decided_by?}`),
  failing it `timeout` after `timeout_seconds` when given; output is the decision.
- `call_workflow`: starts a run of another workflow of the project (its published version when
  the project has one, `run_service.start_triggered`) and waits for it (holding no
  thread); output `{run_id, status, output, error}`; a failed child fails the step. Calls nest
  at most `workflow_runs.MAX_CALL_DEPTH` deep.
- `condition` is the engine's own.
"""

from __future__ import annotations

from typing import Any

from agentyard.core import jobs
from agentyard.core.keys import Tenant
from agentyard.flows import StepContext, StepFailed
from agentyard.hasp import orgs
from agentyard.hasp.studio import integration_port, record_port, sandbox
from agentyard.hasp.studio.run_service import start_triggered
from agentyard.hasp.studio.workflow_models import StudioWorkflow
from agentyard.hasp.studio.workflow_runs import ENGINE, MAX_CALL_DEPTH, start_run

DEFAULT_MODEL = "claude-sonnet-4-5"
PHI_TIMEOUT = 10.0


def _project_id(ctx: StepContext) -> str:
    return str((ctx.context.get("workflow") or {}).get("project_id") or "")


def ai_chat(ctx: StepContext) -> dict[str, Any]:
    from agentyard.llm import dedicated_provider
    from agentyard.phi.guard import get_guard

    props = ctx.props
    texts = [str(props["prompt"])] + ([str(props["system"])] if props.get("system") else [])
    org = Tenant.get_by_id(ctx.tenant_id)
    mode = orgs.settings_of(org).phi_mode
    restore = None
    counts: dict[str, int] = {}
    if mode != "allow":
        guard = get_guard()
        try:
            if mode == "block":
                found = sorted(
                    {f.entity_type for t in texts for f in guard.analyze(t, PHI_TIMEOUT)}
                )
                if found:
                    raise StepFailed(
                        "PHI in the prompt and the org's PHI policy is block",
                        code="phi_blocked",
                        data={"entity_types": found},
                    )
            else:
                redaction = guard.redact(texts, timeout=PHI_TIMEOUT)
                texts, counts, restore = list(redaction.texts), dict(redaction.counts), redaction
        except StepFailed:
            raise
        except Exception as exc:  # the guard fails closed
            raise StepFailed(f"the PHI scan failed: {exc}", code="phi_scan_failed") from None
    request: dict[str, Any] = {
        "model": props.get("model") or DEFAULT_MODEL,
        "max_tokens": int(props.get("max_tokens") or 1024),
        "messages": [{"role": "user", "content": texts[0]}],
    }
    if len(texts) > 1:
        request["system"] = texts[1]

    async def ask() -> dict[str, Any]:
        async with dedicated_provider() as provider:
            return await provider.create(request)

    try:
        reply = jobs.run_async(ask)
    except Exception as exc:
        raise StepFailed(f"the model call failed: {exc}", code="llm_error") from None
    text = "".join(b.get("text", "") for b in reply.get("content") or [] if b.get("type") == "text")
    if restore is not None:
        text = restore.vault.restore(text)
    return {
        "text": text,
        "model": reply.get("model"),
        "usage": reply.get("usage"),
        "phi": {"mode": mode, "redacted": counts},
        "request_id": reply.get("id"),  # the provider's id of the reply, for its logs
    }


def _scope(ctx: StepContext) -> record_port.RecordScope:
    return record_port.RecordScope(
        ctx.tenant_id,
        _project_id(ctx),
        record_port.Actor("workflow", ctx.run_id),
        idempotency_key=ctx.idempotency_key,
    )


def _records(call: Any) -> Any:
    try:
        return call()
    except (LookupError, ValueError) as exc:
        raise StepFailed(str(exc), code="record_error") from None


def record_create(ctx: StepContext) -> Any:
    p = ctx.props
    if sandbox.active(ctx):
        return sandbox.record_write(ctx, "created", p["entity"], p["values"])
    return _records(lambda: record_port.port().create(_scope(ctx), p["entity"], p["values"]))


def record_update(ctx: StepContext) -> Any:
    p = ctx.props
    if sandbox.active(ctx):
        return sandbox.record_write(ctx, "updated", p["entity"], p["values"], str(p["record_id"]))
    return _records(
        lambda: record_port.port().update(
            _scope(ctx), p["entity"], str(p["record_id"]), p["values"]
        )
    )


def record_query(ctx: StepContext) -> Any:
    p = ctx.props
    rows = _records(
        lambda: record_port.port().query(
            _scope(ctx), p["entity"], p.get("where") or {}, int(p.get("limit") or 20)
        )
    )
    return {"records": rows, "count": len(rows)}


def integration_call(ctx: StepContext) -> Any:
    p = ctx.props
    if sandbox.active(ctx):
        return sandbox.integration_call(ctx, p["integration"], p["operation"], p.get("input") or {})
    try:
        return integration_port.port().call(
            ctx.tenant_id, p["integration"], p["operation"], p.get("input") or {},
            ctx.idempotency_key,
        )  # fmt: skip
    except (LookupError, RuntimeError) as exc:
        raise StepFailed(str(exc), code="integration_error") from None


def approval(ctx: StepContext) -> Any:
    p = ctx.props
    payload = {
        "title": p["title"],
        "instructions": p.get("instructions"),
        "role": p.get("role") or "reviewer",
    }
    decision = ctx.pause("approval", payload, ttl_seconds=p.get("timeout_seconds"))
    if not isinstance(decision, dict):
        decision = {"approved": bool(decision)}
    return {**decision, "approved": bool(decision.get("approved"))}


def call_workflow(ctx: StepContext) -> Any:
    p = ctx.props
    state = ctx.state or {}
    child_id = state.get("run_id")
    if child_id is None:
        depth = int(ctx.context.get("__depth") or 0)
        if depth + 1 > MAX_CALL_DEPTH:
            raise StepFailed(
                f"workflow calls nest at most {MAX_CALL_DEPTH} deep", code="call_depth"
            )
        ref = str(p["workflow"])
        project = _project_id(ctx)
        target = StudioWorkflow.get_or_none(
            (StudioWorkflow.project == project)
            & ((StudioWorkflow.id == ref) | (StudioWorkflow.slug == ref))
        )
        if target is None:
            raise StepFailed(f"no workflow {ref!r} in this project", code="workflow_not_found")
        trigger = {"type": "workflow", "run_id": ctx.run_id, "workflow_id": target.id}
        parent, data = (ctx.run_id, ctx.path), p.get("input") or {}
        if sandbox.active(ctx):  # a test run tests the drafts it calls, in the sandbox
            child = start_run(target, data, trigger, parent=parent, depth=depth + 1, sandbox=True)
        else:
            child = start_triggered(target, data, trigger, parent=parent, depth=depth + 1)
        child_id = child.id
        ctx.save_state({"run_id": child_id})
    result = ctx.pause("workflow", {"run_id": child_id}, waiting=True)
    if not isinstance(result, dict) or result.get("status") != "completed":
        status = result.get("status") if isinstance(result, dict) else None
        raise StepFailed(
            f"the called workflow run {child_id} ended {status}", code="workflow_failed",
            data=result,
        )  # fmt: skip
    return result


for _name, _fn in {
    "ai_chat": ai_chat,
    "record_create": record_create,
    "record_update": record_update,
    "record_query": record_query,
    "integration_call": integration_call,
    "approval": approval,
    "call_workflow": call_workflow,
}.items():
    ENGINE.register_step(_name, _fn)
