"""/api/internal/orgs/{org_id}/integrations and /api/internal/integrations/{id}/test."""

from __future__ import annotations

from typing import Any

from agentyard.hasp import envelope
from agentyard.hasp.studio import integration_checks, integrations
from generated.hasp_studio.models import IntegrationCreate, IntegrationUpdate
from handlers.hasp_studio.security import current_member


def list_integrations(org_id: str, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
    rows, next_cursor, more = integrations.list_page(current_member(), org_id, cursor, limit)
    return envelope.page([integrations.view(r) for r in rows], next_cursor, more)


def create_integration(org_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = IntegrationCreate.model_validate(body).root
    row = integrations.create(
        current_member(), org_id, req.name, req.kind, dict(body["config"]), req.secret
    )
    return envelope.ok(integrations.view(row)), 201


def get_integration(org_id: str, integration_id: str) -> dict[str, Any]:
    return envelope.ok(
        integrations.view(integrations.get(current_member(), org_id, integration_id))
    )


def delete_integration(org_id: str, integration_id: str) -> dict[str, Any]:
    row = integrations.delete(current_member(), org_id, integration_id)
    return envelope.ok(integrations.view(row))


def update_integration(org_id: str, integration_id: str, body: dict[str, Any]) -> dict[str, Any]:
    changes = IntegrationUpdate.model_validate(body).model_dump(exclude_unset=True)
    if body.get("config") is not None:  # as sent: the kind's validator reads it whole
        changes["config"] = dict(body["config"])
    row = integrations.update(current_member(), org_id, integration_id, changes)
    return envelope.ok(integrations.view(row))


def test_integration(integration_id: str) -> dict[str, Any]:
    return envelope.ok(integration_checks.run(current_member(), integration_id))
