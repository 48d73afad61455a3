"""/api/internal/projects/{project_id}/releases and /api/internal/releases/{release_id}[/...]:
the release lifecycle (request, approve, reject, cancel, deploy, rollback, emergency rollback)."""

from __future__ import annotations

from typing import Any

from agentyard.hasp import envelope
from agentyard.hasp.studio import releases
from generated.hasp_studio.models import (
    ReleaseApprove,
    ReleaseCancel,
    ReleaseCreate,
    ReleaseEmergencyRollback,
    ReleaseReject,
    ReleaseRollback,
)
from handlers.hasp_studio.security import current_member


def list_project_releases(
    project_id: str, state: str | None = None, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    rows, next_cursor, more = releases.list_page(current_member(), project_id, state, cursor, limit)
    return envelope.page(releases.views(rows), next_cursor, more)


def create_project_release(
    project_id: str, body: dict[str, Any] | None = None
) -> tuple[dict[str, Any], int]:
    req = ReleaseCreate.model_validate(body or {})
    release = releases.request(current_member(), project_id, req.title or "", req.notes or "")
    return envelope.ok(releases.view(release)), 201


def get_release(release_id: str) -> dict[str, Any]:
    return envelope.ok(releases.view(releases.get(current_member(), release_id)))


def approve_release(release_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    req = ReleaseApprove.model_validate(body or {})
    release = releases.approve(current_member(), release_id, req.comment or "")
    return envelope.ok(releases.view(release))


def reject_release(release_id: str, body: dict[str, Any]) -> dict[str, Any]:
    req = ReleaseReject.model_validate(body)
    return envelope.ok(releases.view(releases.reject(current_member(), release_id, req.reason)))


def cancel_release(release_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    req = ReleaseCancel.model_validate(body or {})
    return envelope.ok(releases.view(releases.cancel(current_member(), release_id, req.reason)))


def deploy_release(release_id: str) -> dict[str, Any]:
    return envelope.ok(releases.view(releases.deploy(current_member(), release_id)))


def rollback_release(
    release_id: str, body: dict[str, Any] | None = None
) -> tuple[dict[str, Any], int]:
    req = ReleaseRollback.model_validate(body or {})
    release = releases.rollback(current_member(), release_id, req.reason)
    return envelope.ok(releases.view(release)), 201


def emergency_rollback_release(release_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = ReleaseEmergencyRollback.model_validate(body)
    release = releases.rollback(current_member(), release_id, req.reason, emergency=True)
    return envelope.ok(releases.view(release)), 201
