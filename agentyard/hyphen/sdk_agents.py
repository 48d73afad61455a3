"""SDK agents: the engine's ReAct agents (`agentyard.hyphen.agents`) launched through a
publishable key, and only those.

- Launching needs a session signed in as a user who is not a `viewer`; it is always
  asynchronous (202 and `agent_run_id`; poll the status). Every declared tool must be one the
  key allows: an action (`{"type": "action", "name"}`, or its name, built-in OAuth tools
  included) in `allowed_actions`, a workflow (`{"type": "workflow", "id"}`) in
  `allowed_workflows` (by id or name); else 403. The built-in `__run_workflow__` is limited to
  the key's workflows too (a refused call is an error observation); the other built-in tools
  (`__complete__`, `__pause_for_human__`, memory, progress) are always there.
  `previous_run_id` must be a run of the same key (else 404).
- The key's runs are recorded (`SdkAgentRun`): listing, status, trace, resume and cancel see
  those only; another key's or org's run is a 404. Any session may read; resuming and
  cancelling need a signed-in user who is not a `viewer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentyard.core import clock
from agentyard.core.errors import not_found
from agentyard.core.store import write
from agentyard.flows import react
from agentyard.hyphen import agents, sdk_access, usage
from agentyard.hyphen.sdk import SdkCaller
from agentyard.hyphen.sdk_resources_models import SdkAgentRun
from agentyard.hyphen.workflow_models import Workflow


def _mine(caller: SdkCaller) -> Any:
    return SdkAgentRun.select(SdkAgentRun.run_id).where(
        (SdkAgentRun.key == caller.key_id) & (SdkAgentRun.org == caller.org_id)
    )


def _find(caller: SdkCaller, run_id: str) -> None:
    row = SdkAgentRun.get_or_none(
        (SdkAgentRun.run_id == run_id)
        & (SdkAgentRun.key == caller.key_id)
        & (SdkAgentRun.org == caller.org_id)
    )
    if row is None:
        raise not_found("agent run", run_id)


def check_tools(caller: SdkCaller, tools: list[Any]) -> None:
    """403 unless the key allows every declared tool (built-in tools need nothing)."""
    for tool in tools:
        if isinstance(tool, str):
            tool = {"type": "action", "name": tool}
        if not isinstance(tool, Mapping):
            continue
        if tool.get("type") == "workflow":
            ref = str(tool.get("id"))
            row = Workflow.get_or_none((Workflow.id == ref) & (Workflow.org == caller.org_id))
            sdk_access.require_workflow(caller, ref, row.name if row is not None else None)
            continue
        name = str(tool.get("name"))
        if name not in react.BUILTIN_TOOLS:
            sdk_access.require_action(caller, name)


def execute(caller: SdkCaller, spec: agents.AgentSpec) -> str:
    """Start an agent run for the key as the signed-in user; its id."""
    sdk_access.require_user(caller, write=True)
    check_tools(caller, spec.tools)
    if spec.previous_run_id:
        _find(caller, spec.previous_run_id)
    spec.allowed_workflows = tuple(caller.allowed_workflows)
    run_id = agents.execute(caller.org_id, spec)
    with write():
        SdkAgentRun.create(
            run_id=run_id,
            key=caller.key_id,
            org=caller.org_id,
            started_by=caller.actor,
            created_at=clock.now(),
        )
    usage.record_run(caller.key_id, caller.org_id)
    return run_id


def page(
    caller: SdkCaller, status: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """The key's agent runs, newest first (of one status), and how many."""
    mine = _mine(caller)
    items = agents.list_agents(caller.org_id, status, limit=limit, offset=offset, within=mine)
    return items, agents.count(caller.org_id, status, within=_mine(caller))


def status(caller: SdkCaller, run_id: str, include_trace: bool) -> dict[str, Any]:
    """One of the key's agent runs (with its trace when asked)."""
    _find(caller, run_id)
    return agents.status(caller.org_id, run_id, include_trace=include_trace)


def trace(caller: SdkCaller, run_id: str) -> list[dict[str, Any]]:
    """The reasoning trace of one of the key's agent runs."""
    _find(caller, run_id)
    return agents.trace_items(run_id)


def resume(caller: SdkCaller, run_id: str, human_input: Any) -> None:
    """Give one of the key's paused agents the user's answer (409 unless paused)."""
    _find(caller, run_id)
    sdk_access.require_user(caller, write=True)
    agents.resume(caller.org_id, run_id, human_input)


def cancel(caller: SdkCaller, run_id: str) -> dict[str, Any]:
    """Cancel one of the key's agent runs; its status (a finished run is left as it is)."""
    _find(caller, run_id)
    sdk_access.require_user(caller, write=True)
    agents.cancel(caller.org_id, run_id)
    return agents.status(caller.org_id, run_id)
