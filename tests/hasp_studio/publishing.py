"""Publish a project's current state directly through the contract-version domain, for tests
of what runs on a published release (runs, traces, the org runtime) that are not about the
release lifecycle itself (that is tested over HTTP in test_releases)."""

from __future__ import annotations

from agentyard.core import clock, ids
from agentyard.core.store import connection, write
from agentyard.hasp.studio import contract_versions
from agentyard.hasp.studio.models import Project
from agentyard.hasp.studio.release_models import StudioRelease


def publish(project_id: str) -> str:
    """Snapshot the project and make it its published release; returns the release id."""
    with connection(), write():
        project = Project.get_by_id(project_id)
        number = StudioRelease.select().where(StudioRelease.project == project).count() + 1
        now = clock.now()
        release = StudioRelease.create(
            id=ids.new_id("rel"),
            tenant=project.tenant_id,
            project=project,
            number=number,
            state="approved",
            title=f"test release {number}",
            snapshot=contract_versions.take_snapshot(project),
            summary="published by a test",
            created_at=now,
            updated_at=now,
            approved_at=now,
        )
        contract_versions.publish(release)
        return release.id
