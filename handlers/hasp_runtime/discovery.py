"""Public discovery: the agents manifest and the A2A Agent Cards."""

from __future__ import annotations

from typing import Any

from agentyard.hasp.runtime import discovery, place


def get_agents_manifest() -> dict[str, Any]:
    return discovery.manifest(place.current())


def get_agent_card() -> dict[str, Any]:
    return discovery.agent_card(place.current())


def get_agent_card_legacy() -> dict[str, Any]:
    return discovery.agent_card(place.current())


def get_workflow_agent_card(project_slug: str, workflow_slug: str) -> dict[str, Any]:
    op = place.current()
    return discovery.agent_card(op, discovery.workflow(op, project_slug, workflow_slug))
