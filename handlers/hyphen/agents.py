"""Standalone ReAct agents."""

from __future__ import annotations

from agentyard.hyphen import agents, auth
from handlers.hyphen.security import caller


def executeAgent(body: dict, async_: bool | None = None) -> tuple[dict, int]:
    """Execute agent (sync by default; `?async=true` answers 202 at once)."""
    who = caller()
    org = who.org_id
    spec = agents.AgentSpec(
        objective=body["objective"],
        tools=body.get("tools") or [],
        max_iterations=body.get("max_iterations", 10),
        on_stuck=body.get("on_stuck"),
        previous_run_id=body.get("previous_run_id"),
        result_key=body.get("result_key"),
        context=body.get("context"),
    )
    run_id = agents.execute(org, spec)
    auth.count_run(who)
    if async_:
        return {"agent_run_id": run_id, "status": "running"}, 202
    agents.run_sync(run_id)
    return agents.status(org, run_id, include_trace=True), 200


def listAgents(
    status: str | None = None, limit: int | None = None, offset: int | None = None
) -> dict:
    """List agent runs."""
    org = caller().org_id
    items = agents.list_agents(org, status, limit=limit or 100, offset=offset or 0)
    return {"agents": items, "total": agents.count(org, status)}


def getAgentStatus(id_: str, include_trace: bool | None = None) -> dict:
    """Agent status."""
    return agents.status(caller().org_id, id_, include_trace=bool(include_trace))


def getAgentTrace(id_: str) -> dict:
    """Agent reasoning trace."""
    org = caller().org_id
    agents.status(org, id_)  # 404 for another org's run
    return {"agent_run_id": id_, "trace": agents.trace_items(id_)}


def resumeAgent(id_: str, body: dict) -> tuple[dict, int]:
    """Resume a paused agent with human input."""
    org = caller().org_id
    human = body.get("input", body.get("message"))
    agents.resume(org, id_, human)
    return {"agent_run_id": id_, "status": "running"}, 202


def cancelAgent(id_: str) -> dict:
    """Cancel agent."""
    org = caller().org_id
    agents.cancel(org, id_)
    return agents.status(org, id_)
