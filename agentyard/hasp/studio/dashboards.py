"""The org and project dashboards: overview, projects with their health, health rollup,
project overview. Computed from the store on every request (`dashboard_runs` for runs).

Scope: an org dashboard covers the org's projects the member can see (org admins and owners:
all; others: the projects they belong to), as discovery does; a project dashboard needs
project viewer. Health of a project, from its production runs of the last 7 days:
`failing` when at least `FAILING_RATE` of its finished runs failed; `degraded` when at least
`DEGRADED_RATE` failed or its newest finished run failed; `healthy` otherwise (no runs too).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import peewee
from peewee import fn

from agentyard.core import clock
from agentyard.core.audit import AuditEntry
from agentyard.flows.models import Run
from agentyard.hasp import credit_ledger
from agentyard.hasp.studio import dashboard_runs as stats
from agentyard.hasp.studio import dashboard_sql as q
from agentyard.hasp.studio import projects as project_views
from agentyard.hasp.studio import roles
from agentyard.hasp.studio.entity_models import StudioEntity, StudioRecord
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.models import Project, ProjectMember
from agentyard.hasp.studio.release_models import OPEN_STATES, Deployment, StudioRelease
from agentyard.hasp.studio.workflow_models import (
    StudioApp,
    StudioRun,
    StudioWebhook,
    StudioWorkflow,
)

FAILING_RATE = 0.5
DEGRADED_RATE = 0.1


def visible_projects(member: Member) -> peewee.ModelSelect[Any]:
    """The org's projects the member can see, archived ones included."""
    query = Project.select().where(Project.tenant == member.org_id)
    if member.role not in roles.ORG_WIDE:
        mine = ProjectMember.select(ProjectMember.project).where(
            ProjectMember.user == member.user_id
        )
        query = query.where(Project.id.in_(mine))
    return query


def health(counts: stats.Counts, last_finished: dict[str, Any] | None) -> str:
    """`healthy`, `degraded` or `failing` (see the module docstring)."""
    rate = counts.failure_rate
    if rate is not None and rate >= FAILING_RATE:
        return "failing"
    if (rate is not None and rate >= DEGRADED_RATE) or (
        last_finished is not None and last_finished["status"] == "failed"
    ):
        return "degraded"
    return "healthy"


def _release_view(release: StudioRelease | None) -> dict[str, Any] | None:
    if release is None:
        return None
    return {
        "id": release.id,
        "number": release.number,
        "state": release.state,
        "title": release.title,
        "requested_by": release.requested_by,
        "created_at": clock.iso(release.created_at),
        "published_at": clock.iso(release.published_at),
    }


def _published(project_ids: list[str]) -> dict[str, StudioRelease]:
    if not project_ids:
        return {}
    rows = (
        Deployment.select(Deployment, StudioRelease)
        .join(StudioRelease)
        .where(Deployment.project.in_(project_ids))
    )
    return {row.project_id: row.release for row in rows}


# --- org ----------------------------------------------------------------------------------


def org_overview(member: Member, org_id: str) -> dict[str, Any]:
    """Projects (live, archived), runs today and in the last 7 days with the failure rate,
    AI credits used this period, releases waiting for approval (org viewer)."""
    roles.require_org(member, org_id, "viewer")
    now = clock.now()
    visible = visible_projects(member)
    ids = [str(p) for (p,) in q.tuples(visible.select(Project.id))]
    live = visible.where(Project.archived_at.is_null()).count()
    week = stats.counts(stats.runs(org_id, ids, stats.since_week(now)))
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = stats.counts(stats.runs(org_id, ids, midnight))
    pending = (
        StudioRelease.select()
        .where((StudioRelease.state == "requested") & StudioRelease.project.in_(ids))
        .count()
        if ids
        else 0
    )
    use = credit_ledger.current(member.org)
    return {
        "org_id": org_id,
        "generated_at": clock.iso(now),
        "projects": {"total": len(ids), "live": live, "archived": len(ids) - live},
        "runs": {
            "today": today.runs,
            "last_7_days": week.runs,
            "finished_7_days": week.finished,
            "failed_7_days": week.failed,
            "failure_rate_7_days": week.failure_rate,
        },
        "ai_credits": {
            "used": use.used if use else 0,
            "requests": use.requests if use else 0,
            "period_start": clock.iso(use.period_start) if use else None,
            "period_end": clock.iso(use.period_end) if use else None,
        },
        "pending_approvals": pending,
    }


def org_projects(
    member: Member, org_id: str, include_archived: bool, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None, bool]:
    """A page of the member's projects (newest first) with their health, runs of the last 7
    days, newest run and published release (org viewer)."""
    roles.require_org(member, org_id, "viewer")
    rows, next_cursor, more = project_views.list_page(member, include_archived, cursor, limit)
    ids = [p.id for p, _ in rows]
    week = stats.counts_by_project(stats.runs(org_id, ids, stats.since_week()))
    newest = stats.last_runs(org_id, ids, StudioRun.project_id, finished=False)
    newest_done = stats.last_runs(org_id, ids, StudioRun.project_id, finished=True)
    published = _published(ids)
    items = []
    for project, role in rows:
        counts = week.get(project.id, stats.Counts())
        items.append(
            {
                "project": project_views.view(project, role),
                "health": health(counts, newest_done.get(project.id)),
                "runs_7_days": counts.view(),
                "last_run": newest.get(project.id),
                "last_run_at": (newest.get(project.id) or {}).get("at"),
                "published_release": _release_view(published.get(project.id)),
            }
        )
    return items, next_cursor, more


def health_rollup(
    member: Member, org_id: str, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None, bool]:
    """A page of the member's live projects (newest first), each with its failing workflows
    (newest finished run failed), error rate and p95 run duration over 7 days, and its
    outbound webhook deliveries of 7 days (org viewer)."""
    roles.require_org(member, org_id, "viewer")
    rows, next_cursor, more = project_views.list_page(member, False, cursor, limit)
    ids = [p.id for p, _ in rows]
    since = stats.since_week()
    week = stats.counts_by_project(stats.runs(org_id, ids, since))
    by_workflow = stats.last_runs(org_id, ids, StudioRun.workflow, finished=True)
    newest_done = stats.last_runs(org_id, ids, StudioRun.project_id, finished=True)
    workflows = (
        list(
            StudioWorkflow.select()
            .where(StudioWorkflow.project.in_(ids))
            .order_by(StudioWorkflow.id)
        )
        if ids
        else []
    )
    hooks = stats.webhook_failures(org_id, ids, since)
    items = []
    for project, _role in rows:
        counts = week.get(project.id, stats.Counts())
        failing = [
            {
                "workflow_id": wf.id,
                "name": wf.name,
                "slug": wf.slug,
                "last_run": by_workflow[wf.id],
            }
            for wf in workflows
            if wf.project_id == project.id and by_workflow.get(wf.id, {}).get("status") == "failed"
        ]
        timing = stats.durations(stats.runs(org_id, [project.id], since))
        items.append(
            {
                "project_id": project.id,
                "name": project.name,
                "slug": project.slug,
                "health": health(counts, newest_done.get(project.id)),
                "runs_7_days": counts.view(),
                "error_rate_7_days": counts.failure_rate,
                "p95_duration_ms_7_days": timing["p95_ms"],
                "failing_workflows": failing,
                "webhook_deliveries_7_days": hooks.get(
                    project.id, {"failed": 0, "succeeded": 0, "pending": 0}
                ),
            }
        )
    return items, next_cursor, more


# --- project ------------------------------------------------------------------------------


def _count(query: peewee.ModelSelect[Any]) -> int:
    return int(query.count())


def project_overview(member: Member, project_id: str) -> dict[str, Any]:
    """What the project holds, its published and open release, runs of the last 7 days and
    its last activity (project viewer)."""
    project, role = roles.find_project(member, project_id, "viewer")
    now = clock.now()
    org_id = member.org_id
    week = stats.counts(stats.runs(org_id, [project.id], stats.since_week(now)))
    hooks = q.tuples(
        StudioWebhook.select(StudioWebhook.direction, fn.COUNT(StudioWebhook.id))
        .where((StudioWebhook.project == project.id) & StudioWebhook.deleted_at.is_null())
        .group_by(StudioWebhook.direction)
    )
    webhooks = {"inbound": 0, "outbound": 0, **{d: int(n) for d, n in hooks}}
    open_release = (
        StudioRelease.select()
        .where((StudioRelease.project == project.id) & StudioRelease.state.in_(OPEN_STATES))
        .order_by(StudioRelease.number.desc())
        .first()
    )
    last_audit = (
        AuditEntry.select(fn.MAX(AuditEntry.created_at))
        .where((AuditEntry.tenant == org_id) & (AuditEntry.project_id == project.id))
        .scalar()
    )
    last_run = stats.runs(org_id, [project.id]).select(fn.MAX(Run.created_at)).scalar()
    moments = [m for m in (_moment(last_audit), _moment(last_run)) if m is not None]
    return {
        "project": project_views.view(project, role),
        "counts": {
            "apps": _count(StudioApp.select().where(StudioApp.project == project.id)),
            "workflows": _count(
                StudioWorkflow.select().where(StudioWorkflow.project == project.id)
            ),
            "entities": _count(StudioEntity.select().where(StudioEntity.project == project.id)),
            "records": _count(
                StudioRecord.select().join(StudioEntity).where(StudioEntity.project == project.id)
            ),
            "webhooks": webhooks["inbound"] + webhooks["outbound"],
            "inbound_webhooks": webhooks["inbound"],
            "outbound_webhooks": webhooks["outbound"],
        },
        "published_release": _release_view(_published([project.id]).get(project.id)),
        "open_release": _release_view(open_release),
        "runs_7_days": week.view(),
        "last_activity_at": clock.iso(max(moments)) if moments else None,
        "generated_at": clock.iso(now),
    }


def _moment(value: Any) -> dt.datetime | None:
    """A MAX() of a timestamp column as a datetime (SQLite answers text)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))
