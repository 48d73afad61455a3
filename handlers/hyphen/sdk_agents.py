"""/sdk/agents: the key's ReAct agent runs (agentyard.hyphen.sdk_agents)."""

from __future__ import annotations

from typing import Any

from agentyard.hyphen import agents, sdk_agents
from handlers.hyphen.security import sdk_caller


def executeSdkAgent(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Launch an agent in the background as the signed-in user."""
    spec = agents.AgentSpec(
        objective=body["objective"],
        tools=body.get("tools") or [],
        max_iterations=body.get("max_iterations", 10),
        on_stuck=body.get("on_stuck"),
        previous_run_id=body.get("previous_run_id"),
        result_key=body.get("result_key"),
        context=body.get("context"),
    )
    run_id = sdk_agents.execute(sdk_caller(), spec)
    return {"agent_run_id": run_id, "status": "running"}, 202


def listSdkAgents(status: str | None = None, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """The key's agent runs, newest first."""
    items, total = sdk_agents.page(sdk_caller(), status, limit, offset)
    return {"agents": items, "total": total, "limit": limit, "offset": offset}


def getSdkAgentStatus(agent_id: str, include_trace: bool = True) -> dict[str, Any]:
    """One agent run's status, with its reasoning trace unless asked not to."""
    return sdk_agents.status(sdk_caller(), agent_id, include_trace)


def getSdkAgentTrace(agent_id: str) -> dict[str, Any]:
    """One agent run's full reasoning trace."""
    return {"agent_run_id": agent_id, "trace": sdk_agents.trace(sdk_caller(), agent_id)}


def resumeSdkAgent(agent_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Give a paused agent the user's answer; it continues in the background."""
    sdk_agents.resume(sdk_caller(), agent_id, body.get("input", body.get("message")))
    return {"agent_run_id": agent_id, "status": "running"}, 202


def cancelSdkAgent(agent_id: str) -> dict[str, Any]:
    """Cancel one of the key's agent runs."""
    return sdk_agents.cancel(sdk_caller(), agent_id)
