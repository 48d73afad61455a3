"""/api/internal/orgs/{org_id}/discovery: apps and workflows galleries, agentic patterns."""

from __future__ import annotations

from typing import Any

from agentyard.hasp import envelope
from agentyard.hasp.studio import discovery, patterns
from handlers.hasp_studio.security import current_member


def discover_apps(org_id: str, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
    return envelope.page(*discovery.gallery(current_member(), org_id, "apps", cursor, limit))


def discover_workflows(org_id: str, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
    return envelope.page(*discovery.gallery(current_member(), org_id, "workflows", cursor, limit))


def discover_agentic_patterns(
    org_id: str, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    return envelope.page(*patterns.page(current_member(), org_id, cursor, limit))
