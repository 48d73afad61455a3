"""Handlers for specs/hyphen.yaml, scaffolded by codegen.py: fill in each function."""

from agentyard.core.errors import not_implemented


def executeAgent(body: dict, async_: bool | None = None) -> dict:
    """Execute agent."""
    raise not_implemented("executeAgent")


def listAgents(
    status: str | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> dict:
    """List agent runs."""
    raise not_implemented("listAgents")


def getAgentStatus(id_: str, include_trace: bool | None = None) -> dict:
    """Agent status."""
    raise not_implemented("getAgentStatus")


def getAgentTrace(id_: str) -> dict:
    """Agent reasoning trace."""
    raise not_implemented("getAgentTrace")


def resumeAgent(id_: str, body: dict) -> dict:
    """Resume paused agent."""
    raise not_implemented("resumeAgent")


def cancelAgent(id_: str) -> dict:
    """Cancel agent."""
    raise not_implemented("cancelAgent")
