"""Traces: every run's record, PHI redacted, and the unredacted view by elevation only.

The trace id IS the run id (`wfr_<ulid>`). A trace is built from the engine's records
(`trace_document`), redacted (`trace_redaction`) and stored (`StoredTrace`) with the originals
encrypted under `core.vault` (context `hasp.studio.trace.<run id>`); it is rebuilt whenever
the run moved on since. Nothing but an elevation ever decrypts the originals, so every list,
detail, export and run answer shows the redacted document. (The engine's own records of a run
are its working state, what a paused run resumes from; no route serves them.)

Elevation (`elevate`): the org's PHI elevation policy (`elevation_role`, None by default:
nobody) names the least role (the member's effective role in the trace's project) that may
see a trace unredacted, with a reason; the grant (`PhiElevation`) lasts `elevation_minutes`,
during which `detail(..., elevation=<grant id>)` shows the unredacted view to the same member.
Every elevation, granted or refused, is audited (who, why, which PHI types and fields were
revealed — never the values).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from agentyard import flows
from agentyard.core import clock, ids, paging, vault
from agentyard.core.errors import ApiError, not_found
from agentyard.core.store import write
from agentyard.hasp import cursors
from agentyard.hasp.studio import (
    audit,
    contract_versions,
    policy_org,
    projects,
    roles,
    run_service,
    trace_document,
    trace_redaction,
)
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.models import Project
from agentyard.hasp.studio.release_models import StudioRelease
from agentyard.hasp.studio.trace_models import PhiElevation, StoredTrace
from agentyard.hasp.studio.workflow_models import StudioRun, StudioWorkflow
from agentyard.hasp.studio.workflow_runs import start_run

FORMAT = "hasp-studio-trace"
FORMAT_VERSION = 1


def _context(run_id: str) -> str:
    return f"hasp.studio.trace.{run_id}"


def find(member: Member, trace_id: str, least: str) -> tuple[StudioRun, Project]:
    """The org's run `trace_id` once the member holds `least` in its project (404 else)."""
    row = StudioRun.get_or_none(
        (StudioRun.run_id == trace_id) & (StudioRun.tenant == member.org_id)
    )
    if row is None:
        raise not_found("trace", trace_id)
    project = Project.get_by_id(row.project_id)
    roles.require_in(member, least, project, "trace", trace_id)
    return row, project


def _shown(doc: dict[str, Any], grant: PhiElevation | None = None) -> dict[str, Any]:
    """A trace document as answered: redacted, or unredacted under `grant`."""
    if grant is None:
        return {**doc, "redacted": True, "elevation": None}
    elevation = {"id": grant.id, "expires_at": clock.iso(grant.expires_at)}
    return {**doc, "redacted": False, "elevation": elevation}


def stored(row: StudioRun) -> StoredTrace:
    """The run's stored trace, (re)built when the run moved on since it was stored."""
    run = flows.get_run(row.run_id)
    key = trace_document.state_key(run)
    current = StoredTrace.get_or_none(StoredTrace.run_id == row.run_id)
    if current is not None and current.built_for == key:
        return current
    doc = trace_document.build(row, run)
    redacted, revealed = trace_redaction.redact(doc, row.project_id)
    values = {
        "tenant": row.tenant_id,
        "built_for": key,
        "redacted": redacted,
        "originals": vault.encrypt(json.dumps(doc), _context(row.run_id)),
        "revealed": revealed,
        "built_at": clock.now(),
    }
    with write():
        StoredTrace.insert(run_id=row.run_id, **values).on_conflict(
            conflict_target=[StoredTrace.run_id],
            update={getattr(StoredTrace, k): v for k, v in values.items() if k != "tenant"},
        ).execute()
    return StoredTrace.get_by_id(row.run_id)


def run_result(run_id: str) -> dict[str, Any]:
    """A run as the runs API answers one: its metadata with the trace's redacted output and
    error."""
    out = run_service.view_of(run_id)
    doc = stored(StudioRun.get_by_id(run_id)).redacted
    return {**out, "output": doc.get("output"), "error": doc.get("error")}


def list_page(
    member: Member,
    project_id: str,
    *,
    workflow_id: str | None,
    status: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None, bool]:
    """The project's traces, newest first (project viewer)."""
    project, _ = roles.find_project(member, project_id, "viewer")
    query = (
        StudioRun.select(StudioRun, flows.Run)
        .join(flows.Run, on=(StudioRun.run_id == flows.Run.id), attr="flow")
        .where(StudioRun.project_id == project.id)
    )
    if workflow_id:
        query = query.where(StudioRun.workflow == workflow_id)
    if status:
        query = query.where(flows.Run.status == status)
    if since is not None:
        query = query.where(StudioRun.created_at >= since)
    if until is not None:
        query = query.where(StudioRun.created_at < until)
    rows, after, more = paging.newest_first(
        query, StudioRun.created_at, StudioRun.run_id, cursors.rows_to_core(cursor), limit
    )
    return [run_service.view(r, r.flow) for r in rows], cursors.rows_from_core(after), more


def _refusal(member: Member, project: Project) -> ApiError | None:
    """Why the org's PHI policy refuses the member an elevation in `project` (None: allowed)."""
    least = policy_org.elevation_policy(member.org_id)["elevation_role"]
    role = roles.project_role(member, project)
    if least is not None and roles.at_least(role, least):
        return None
    why = (
        "PHI elevation is disabled by the org's PHI policy"
        if least is None
        else f"The org's PHI policy allows elevation to {least} or higher"
    )
    return ApiError(
        403, "PHI_ELEVATION_DENIED", why, details={"required_role": least, "role": role}
    )


def _grant(member: Member, row: StudioRun, project: Project, grant_id: str) -> PhiElevation:
    """The member's live grant for this trace, while the policy still allows them; else 403."""
    refusal = _refusal(member, project)
    if refusal is not None:
        raise refusal
    grant = PhiElevation.get_or_none(
        (PhiElevation.id == grant_id)
        & (PhiElevation.tenant == member.org_id)
        & (PhiElevation.run_id == row.run_id)
        & (PhiElevation.user_id == member.user_id)
    )
    if grant is None or grant.expires_at <= clock.now():
        raise ApiError(
            403,
            "PHI_ELEVATION_DENIED",
            "The elevation is not yours, not for this trace, or it expired: ask for a new one",
            details={"elevation": grant_id},
        )
    return grant


def detail(member: Member, trace_id: str, elevation: str | None = None) -> dict[str, Any]:
    """The trace (project viewer), redacted; unredacted within a live elevation grant of the
    member for this trace."""
    row, project = find(member, trace_id, "viewer")
    trace = stored(row)
    if elevation is None:
        return _shown(trace.redacted)
    grant = _grant(member, row, project, elevation)
    return _shown(json.loads(vault.decrypt(trace.originals, _context(row.run_id))), grant)


def export(member: Member, trace_id: str) -> dict[str, Any]:
    """A self-contained JSON document of the trace (project viewer; redacted)."""
    row, _ = find(member, trace_id, "viewer")
    trace = stored(row)
    wf = StudioWorkflow.get_by_id(row.workflow_id)
    release = StudioRelease.get_or_none(StudioRelease.id == row.release_id)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": clock.iso(clock.now()),
        "org_id": row.tenant_id,
        "workflow": {"id": wf.id, "name": wf.name, "slug": wf.slug},
        "version": {
            "release_id": row.release_id,
            "release_number": release.number if release is not None else None,
            "draft": row.release_id is None,
            "sandbox": bool(row.sandbox),
        },
        "redacted": True,
        "trace": _shown(trace.redacted),
    }


def replay(member: Member, trace_id: str, version: str) -> dict[str, Any]:
    """Run the trace's input again (project builder; not archived), linked to it: `original`
    on the version it ran on (the same definition; a test run stays a sandbox run), `current`
    on the workflow's current version (a test run: the draft, in the sandbox; else the
    published one, 409 `NOT_PUBLISHED` when there is none)."""
    row, project = find(member, trace_id, "builder")
    projects.writable(project, authoring=False)
    wf = StudioWorkflow.get_by_id(row.workflow_id)
    run = flows.get_run(row.run_id)
    input = (run.initial or {}).get("input")
    trigger = {
        "type": "replay", "trace_id": row.run_id, "version": version, "user_id": member.user_id,
    }  # fmt: skip
    sandbox = bool(row.sandbox)
    if version == "original":
        release = StudioRelease.get_or_none(StudioRelease.id == row.release_id)
        published = None
        if release is not None:
            published = next(
                (w for w in contract_versions.workflows_of(release) if w.id == wf.id), None
            )
        new = start_run(
            wf, input, trigger, version=published, sandbox=sandbox, compiled=run.definition
        )
    elif sandbox:
        new = start_run(wf, input, trigger, sandbox=True)
    else:
        current = contract_versions.published_workflow(wf.id)
        if current is None:
            raise ApiError(
                409,
                "NOT_PUBLISHED",
                f"The workflow {wf.id} has no published version to replay on",
                details={"workflow_id": wf.id, "project_id": wf.project_id},
            )
        new = start_run(wf, input, trigger, version=current)
    with write():
        audit.record(
            member, "trace.replayed", "trace", row.run_id, project_id=project.id,
            after={"run_id": new.id, "version": version},
        )  # fmt: skip
    return run_service.view_of(new.id)


def elevate(member: Member, trace_id: str, reason: str) -> dict[str, Any]:
    """The unredacted trace for a member the org's PHI policy allows, with a stated reason
    (400 without one); 403 `PHI_ELEVATION_DENIED` otherwise. Audited either way."""
    row, project = find(member, trace_id, "viewer")
    reason = (reason or "").strip()
    if not reason:
        raise ApiError(
            400, "REASON_REQUIRED", "State why you need the unredacted trace (reason)",
            details={"param": "reason"},
        )  # fmt: skip
    refusal = _refusal(member, project)
    if refusal is not None:
        with write():
            audit.record(
                member, "trace.phi_elevation_denied", "trace", row.run_id,
                project_id=project.id, after={"reason": reason, **(refusal.details or {})},
            )  # fmt: skip
        raise refusal
    policy = policy_org.elevation_policy(member.org_id)
    trace = stored(row)
    doc = json.loads(vault.decrypt(trace.originals, _context(row.run_id)))
    now = clock.now()
    expires = now + dt.timedelta(minutes=int(policy["elevation_minutes"]))
    with write():
        grant = PhiElevation.create(
            id=ids.new_id("elv"), tenant=member.org_id, run_id=row.run_id,
            user_id=member.user_id, reason=reason, created_at=now, expires_at=expires,
        )  # fmt: skip
        audit.record(
            member, "trace.phi_elevated", "trace", row.run_id, project_id=project.id,
            after={"elevation_id": grant.id, "reason": reason, "expires_at": clock.iso(expires),
                   "revealed": trace.revealed},
        )  # fmt: skip
    return {
        "elevation_id": grant.id,
        "trace_id": row.run_id,
        "reason": reason,
        "expires_at": clock.iso(expires),
        "revealed": trace.revealed,
        "trace": _shown(doc, grant),
    }
