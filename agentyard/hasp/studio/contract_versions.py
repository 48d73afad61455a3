"""The contract version: a whole-project snapshot, and what each project has published.

`take_snapshot(project)` captures the project's apps, workflows, entities, policy and webhooks
as plain JSON (no secrets). A release stores it when it is requested; `publish(release)` makes
it the project's published contract. New runs of a workflow use its published version
(`published_workflow`); runs in flight keep the version they started with (they carry the
compiled definition they were started with). The org runtime lists the agent-callable
workflows of published releases (`agent_callable`).

Snapshot shape (each list sorted by id):
    {"apps": [{id, name, slug, description}],
     "workflows": [{id, name, slug, description, definition, compiled, trigger_type,
                    agent_callable}],
     "entities": [{id, key, name, description, app_id, fields, display_fields, schema_version}],
     "policy": {phi_mode, allowed_models, retention_days},
     "webhooks": [{id, direction, name, url, events, app_id, workflow_id, active}]}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentyard.core import clock
from agentyard.hasp.studio.entity_models import StudioEntity
from agentyard.hasp.studio.models import Project
from agentyard.hasp.studio.policy_models import ProjectPolicy
from agentyard.hasp.studio.release_models import Deployment, StudioRelease
from agentyard.hasp.studio.workflow_models import StudioApp, StudioWebhook, StudioWorkflow


@dataclass(frozen=True)
class PublishedWorkflow:
    """A workflow as a published release has it."""

    release_id: str
    release_number: int
    org_id: str
    project_id: str
    project_slug: str
    id: str
    name: str
    slug: str
    description: str
    definition: dict[str, Any]
    compiled: dict[str, Any]
    trigger_type: str
    agent_callable: bool

    @property
    def input_schema(self) -> dict[str, Any]:
        """The agent trigger's input schema (an object schema when none is declared)."""
        trigger = self.definition.get("trigger") or {}
        schema = trigger.get("input_schema") if isinstance(trigger, dict) else None
        return dict(schema) if isinstance(schema, dict) else {"type": "object"}


def take_snapshot(project: Project) -> dict[str, Any]:
    """The project's authoring state as JSON, in the shape the module docstring gives."""
    apps = StudioApp.select().where(StudioApp.project == project).order_by(StudioApp.id)
    workflows = (
        StudioWorkflow.select().where(StudioWorkflow.project == project).order_by(StudioWorkflow.id)
    )
    entities = (
        StudioEntity.select().where(StudioEntity.project == project).order_by(StudioEntity.id)
    )
    hooks = (
        StudioWebhook.select()
        .where((StudioWebhook.project == project) & StudioWebhook.deleted_at.is_null())
        .order_by(StudioWebhook.id)
    )
    policy = ProjectPolicy.get_or_none(ProjectPolicy.project == project)
    return {
        "apps": [
            {"id": a.id, "name": a.name, "slug": a.slug, "description": a.description} for a in apps
        ],
        "workflows": [
            {
                "id": w.id,
                "name": w.name,
                "slug": w.slug,
                "description": w.description,
                "definition": w.definition,
                "compiled": w.compiled,
                "trigger_type": w.trigger_type,
                "agent_callable": bool(w.agent_callable),
            }
            for w in workflows
        ],
        "entities": [
            {
                "id": e.id,
                "key": e.key,
                "name": e.name,
                "description": e.description,
                "app_id": e.app_id,
                "fields": e.fields,
                "display_fields": e.display_fields,
                "schema_version": e.schema_version,
            }
            for e in entities
        ],
        "policy": {
            "phi_mode": policy.phi_mode if policy else None,
            "allowed_models": list(policy.allowed_models) if policy else [],
            "retention_days": policy.retention_days if policy else None,
        },
        "webhooks": [
            {
                "id": h.id,
                "direction": h.direction,
                "name": h.name,
                "url": h.url,
                "events": h.events,
                "app_id": h.app_id,
                "workflow_id": h.workflow_id,
                "active": bool(h.active),
            }
            for h in hooks
        ],
    }


def published(project_id: str) -> StudioRelease | None:
    """The project's published release (None: nothing published yet)."""
    row = (
        Deployment.select(Deployment, StudioRelease)
        .join(StudioRelease)
        .where(Deployment.project == project_id)
        .first()
    )
    return row.release if row is not None else None


def publish(release: StudioRelease) -> StudioRelease | None:
    """Make `release` the published contract of its project (call inside `write()`); the
    previously published release is marked superseded and returned."""
    now = clock.now()
    current = Deployment.get_or_none(Deployment.project == release.project_id)
    previous = None
    if current is not None and current.release_id != release.id:
        previous = StudioRelease.get_by_id(current.release_id)
        previous.state, previous.closed_at, previous.updated_at = "superseded", now, now
        previous.save()
    if current is None:
        Deployment.create(
            project=release.project_id,
            tenant=release.tenant_id,
            release=release.id,
            published_at=now,
        )
    else:
        current.release, current.published_at = release, now
        current.save()
    release.state, release.published_at, release.updated_at = "published", now, now
    release.closed_at = None
    release.save()
    return previous


def _published_view(
    release: StudioRelease, project: Project, wf: dict[str, Any]
) -> PublishedWorkflow:
    return PublishedWorkflow(
        release_id=release.id,
        release_number=release.number,
        org_id=release.tenant_id,
        project_id=project.id,
        project_slug=project.slug,
        id=wf["id"],
        name=wf["name"],
        slug=wf["slug"],
        description=wf.get("description", ""),
        definition=wf["definition"],
        compiled=wf["compiled"],
        trigger_type=wf["trigger_type"],
        agent_callable=bool(wf.get("agent_callable")),
    )


def workflows_of(release: StudioRelease) -> list[PublishedWorkflow]:
    """The workflows of a release's snapshot."""
    project = Project.get_by_id(release.project_id)
    return [_published_view(release, project, wf) for wf in release.snapshot.get("workflows", [])]


def published_workflow(workflow_id: str) -> PublishedWorkflow | None:
    """The published version of a workflow (None: its project published none, or the published
    release does not have it)."""
    wf = StudioWorkflow.get_or_none(StudioWorkflow.id == workflow_id)
    release = published(wf.project_id) if wf is not None else None
    if release is None:
        return None
    return next((w for w in workflows_of(release) if w.id == workflow_id), None)


def published_by_slug(
    org_id: str, project_slug: str, workflow_slug: str
) -> PublishedWorkflow | None:
    """The published workflow `workflow_slug` of the org's project `project_slug` (slugs as the
    published release has them; an archived project publishes nothing)."""
    project = Project.get_or_none(
        (Project.tenant == org_id) & (Project.slug == project_slug) & Project.archived_at.is_null()
    )
    release = published(project.id) if project is not None else None
    if release is None:
        return None
    return next((w for w in workflows_of(release) if w.slug == workflow_slug), None)


def agent_callable(org_id: str) -> list[PublishedWorkflow]:
    """The org's agent-callable workflows in published releases of its live projects, ordered
    by project slug then workflow slug."""
    rows = (
        Deployment.select(Deployment, StudioRelease, Project)
        .join(StudioRelease)
        .switch(Deployment)
        .join(Project)
        .where((Deployment.tenant == org_id) & Project.archived_at.is_null())
        .order_by(Project.slug)
    )
    out: list[PublishedWorkflow] = []
    for row in rows:
        release = row.release
        for wf in sorted(release.snapshot.get("workflows", []), key=lambda w: w["slug"]):
            if wf.get("agent_callable"):
                out.append(_published_view(release, row.project, wf))
    return out
