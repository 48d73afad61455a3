"""The release lifecycle of a project (HASP's "atomic release"):

    request → requested ──approvals reach the org's floor──→ approved ──deploy──→ published
    requested | approved ──reject / cancel──→ rejected | cancelled   (the project is draft again)
    published ──another release published──→ superseded

- `request` snapshots the whole project (`contract_versions.take_snapshot`) and computes its
  diff against the published release, the migration impact and the summary (`release_diff`);
  the summary is the immutable changelog entry. While it is open the project is soft-locked
  (`projects.writable`). One open release per project; a snapshot that changes nothing → 409.
- `approve`: distinct reviewers (project reviewer or higher); the requester only when the
  org's `ReleasePolicy.allow_self_approval`; the release is approved when its approvals reach
  the floor in force (`min_approvals`).
- `deploy` (project admin) publishes an approved release (`contract_versions.publish`): new
  runs use it, runs in flight keep the version they started on.
- `rollback` (project admin) of the published release re-publishes the release published
  before it, as a new release (`rollback_of`, the earlier snapshot, published at once: that
  snapshot had passed its approvals). The draft is unchanged: a rollback changes the contract,
  not the authoring tables. Refused while a release is open. `emergency_rollback` (project
  admin, a reason) does the same while a release is open, cancelling it, marked `emergency`.

Every transition is audited (`release.<verb>`) and sent to the project's outbound webhooks
subscribed to `release.<state>` (`RELEASE_EVENTS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import peewee

from agentyard.core import clock, ids, paging
from agentyard.core.errors import ApiError, not_found
from agentyard.core.store import is_sqlite, write
from agentyard.hasp import cursors
from agentyard.hasp.studio import (
    audit,
    contract_versions,
    palette,
    policy_org,
    project_webhooks,
    projects,
    release_diff,
    roles,
)
from agentyard.hasp.studio.errors import conflict, invalid
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.models import Project
from agentyard.hasp.studio.release_models import OPEN_STATES, ReleaseApproval, StudioRelease

RELEASE_EVENTS = (
    "release.requested", "release.approved", "release.rejected", "release.cancelled",
    "release.published", "release.rolled_back",
)  # fmt: skip


def _approvals(release_ids: Sequence[str]) -> dict[str, list[ReleaseApproval]]:
    out: dict[str, list[ReleaseApproval]] = {i: [] for i in release_ids}
    if release_ids:
        query = (
            ReleaseApproval.select()
            .where(ReleaseApproval.release.in_(list(release_ids)))
            .order_by(ReleaseApproval.created_at, ReleaseApproval.id)
        )
        for row in query:
            out[row.release_id].append(row)
    return out


def _floor(org_id: str) -> dict[str, Any]:
    return policy_org.release_floor(org_id)


def view(
    release: StudioRelease,
    approvals: list[ReleaseApproval] | None = None,
    floor: dict[str, Any] | None = None,
    published_id: str | None = None,
) -> dict[str, Any]:
    """The release as the API shows it (without its snapshot)."""
    if approvals is None:
        approvals = _approvals([release.id])[release.id]
    if floor is None:
        floor = _floor(release.tenant_id)
    if published_id is None:
        current = contract_versions.published(release.project_id)
        published_id = current.id if current is not None else ""
    return {
        "id": release.id,
        "project_id": release.project_id,
        "number": release.number,
        "state": release.state,
        "title": release.title,
        "notes": release.notes,
        "summary": release.summary,
        "diff": release.diff,
        "impact": release.impact,
        "approvals": [
            {"user_id": a.user_id, "comment": a.comment, "created_at": clock.iso(a.created_at)}
            for a in approvals
        ],
        "approvals_required": floor["min_approvals"],
        "requested_by": release.requested_by,
        "decided_by": release.decided_by,
        "deployed_by": release.deployed_by,
        "rollback_of": release.rollback_of,
        "emergency": bool(release.emergency),
        "reason": release.reason,
        "created_at": clock.iso(release.created_at),
        "approved_at": clock.iso(release.approved_at),
        "published_at": clock.iso(release.published_at),
        "closed_at": clock.iso(release.closed_at),
        "published": release.id == published_id,
    }


def views(rows: Sequence[StudioRelease]) -> list[dict[str, Any]]:
    """Views of a page of releases (one query for their approvals)."""
    if not rows:
        return []
    approvals = _approvals([r.id for r in rows])
    floor = _floor(rows[0].tenant_id)
    published: dict[str, str] = {}
    for r in rows:
        if r.project_id not in published:
            current = contract_versions.published(r.project_id)
            published[r.project_id] = current.id if current is not None else ""
    return [view(r, approvals[r.id], floor, published[r.project_id]) for r in rows]


def invalid_state(release: StudioRelease, action: str) -> ApiError:
    return ApiError(
        409,
        "INVALID_RELEASE_STATE",
        f"Release {release.id} is {release.state}: it cannot be {action}",
        details={"release_id": release.id, "state": release.state},
    )


def _locked_row(release_id: str, org_id: str) -> StudioRelease | None:
    query = StudioRelease.select().where(
        (StudioRelease.id == release_id) & (StudioRelease.tenant == org_id)
    )
    if not is_sqlite():
        query = query.for_update()
    return query.first()


def find(member: Member, release_id: str, least: str) -> tuple[StudioRelease, Project, str]:
    """The org's release, its project and the member's role there, once the member holds
    `least` (404 for another org's release or one of a project the member cannot see)."""
    release = StudioRelease.get_or_none(
        (StudioRelease.id == release_id) & (StudioRelease.tenant == member.org_id)
    )
    if release is None:
        raise not_found("release", release_id)
    project = Project.get_by_id(release.project_id)
    if roles.project_role(member, project) is None:
        raise not_found("release", release_id)
    return release, project, roles.require(member, least, project)


def _reload(member: Member, release: StudioRelease) -> StudioRelease:
    """The release again, inside `write()` (row-locked on PostgreSQL)."""
    row = _locked_row(release.id, member.org_id)
    if row is None:
        raise not_found("release", release.id)
    return row


def _audited(release: StudioRelease) -> dict[str, Any]:
    """What the audit keeps of a release after a transition (the activity feed shows its
    title)."""
    return {"state": release.state, "number": release.number, "title": release.title}


def _announce(member: Member, release: StudioRelease, action: str, event: str | None) -> None:
    """Audit `release.<action>` (inside the write)."""
    audit.record(
        member, f"release.{action}", "release", release.id, project_id=release.project_id,
        after=_audited(release), event=event,
    )  # fmt: skip


def _emit(release: StudioRelease, event: str, **extra: Any) -> None:
    """Send `event` with the release's view to the project's subscribed outbound webhooks."""
    data = {"release": view(release), **extra}
    project_webhooks.emit(release.tenant_id, release.project_id, event, data)


def _next_number(project_id: str) -> int:
    last = StudioRelease.select(peewee.fn.MAX(StudioRelease.number)).where(
        StudioRelease.project == project_id
    )
    return int(last.scalar() or 0) + 1


def _new_release(
    member: Member,
    project: Project,
    snapshot: dict[str, Any],
    changes: dict[str, Any],
    state: str,
    title: str,
    notes: str,
    **columns: Any,
) -> StudioRelease:
    """Insert the next release of `project` with its diff (`changes`, against the published
    release), impact and summary (inside `write()`)."""
    number = _next_number(project.id)
    now = clock.now()
    return StudioRelease.create(
        id=ids.new_id("rel"), tenant=member.org_id, project=project, number=number,
        state=state, title=title or f"Release {number}", notes=notes, snapshot=snapshot,
        summary=release_diff.summary(number, project.name, changes), diff=changes,
        impact=release_diff.impact(changes), requested_by=member.user_id,
        created_at=now, updated_at=now, **columns,
    )  # fmt: skip


def request(member: Member, project_id: str, title: str, notes: str) -> StudioRelease:
    """Request a release of the project's current state (project builder; not archived).
    409 RELEASE_OPEN while another is open, NOTHING_TO_RELEASE when nothing changed since the
    published release. With a floor of 0 approvals it is approved at once."""
    project, _ = roles.find_project(member, project_id, "builder")
    projects.writable(project, authoring=False)
    floor = _floor(member.org_id)
    try:
        with write():
            if not is_sqlite():  # one request at a time per project
                Project.select().where(Project.id == project.id).for_update().first()
            _refuse_open(project)
            snapshot = contract_versions.take_snapshot(project)
            current = contract_versions.published(project.id)
            changes = release_diff.diff(current.snapshot if current else None, snapshot)
            if current is not None and release_diff.is_empty(changes):
                raise ApiError(
                    409, "NOTHING_TO_RELEASE",
                    f"Nothing changed since the published release {current.number} "
                    f"({current.id})", details={"release_id": current.id},
                )  # fmt: skip
            release = _new_release(member, project, snapshot, changes, "requested", title, notes)
            _announce(member, release, "requested", "release.requested")
            approved = floor["min_approvals"] <= 0
            if approved:
                release.state, release.approved_at = "approved", release.created_at
                release.save()
                _announce(member, release, "approved", "release.approved")
    except peewee.IntegrityError as exc:  # a concurrent request took the number
        raise conflict(f"Another release of project {project.id} was requested just now",
                       "RELEASE_OPEN") from exc  # fmt: skip
    _emit(release, "release.requested")
    if approved:
        _emit(release, "release.approved")
    return release


def _refuse_open(project: Project, action: str = "requested") -> None:
    open_release = projects.open_release(project.id)
    if open_release is not None:
        raise ApiError(
            409, "RELEASE_OPEN",
            f"Release {open_release.number} ({open_release.id}) of this project is "
            f"{open_release.state}: deploy, reject or cancel it first ({action} refused)",
            details={"release_id": open_release.id, "state": open_release.state},
        )  # fmt: skip


def list_page(
    member: Member, project_id: str, state: str | None, cursor: str | None, limit: int
) -> tuple[list[StudioRelease], str | None, bool]:
    """The project's releases, newest first, optionally in one state (project viewer)."""
    project, _ = roles.find_project(member, project_id, "viewer")
    query = StudioRelease.select().where(StudioRelease.project == project)
    if state:
        query = query.where(StudioRelease.state == state)
    rows, after, more = paging.newest_first(
        query, StudioRelease.created_at, StudioRelease.id, cursors.rows_to_core(cursor), limit
    )
    return rows, cursors.rows_from_core(after), more


def get(member: Member, release_id: str) -> StudioRelease:
    return find(member, release_id, "viewer")[0]


def approve(member: Member, release_id: str, comment: str) -> StudioRelease:
    """Add the member's approval (project reviewer); approved once the floor is reached."""
    release, _, _ = find(member, release_id, "reviewer")
    floor = _floor(member.org_id)
    with write():
        release = _reload(member, release)
        if release.state != "requested":
            raise invalid_state(release, "approved")
        if release.requested_by == member.user_id and not floor["allow_self_approval"]:
            raise ApiError(
                403, "SELF_APPROVAL_FORBIDDEN",
                "The requester cannot approve their own release (the org's release policy "
                "does not allow self-approval)", details={"release_id": release.id},
            )  # fmt: skip
        if ReleaseApproval.get_or_none(
            (ReleaseApproval.release == release.id) & (ReleaseApproval.user_id == member.user_id)
        ):
            raise ApiError(
                409, "ALREADY_APPROVED", f"You have approved release {release.id} already",
                details={"release_id": release.id},
            )  # fmt: skip
        now = clock.now()
        ReleaseApproval.create(
            id=ids.new_id("apr"), release=release, user_id=member.user_id, comment=comment,
            created_at=now,
        )  # fmt: skip
        count = ReleaseApproval.select().where(ReleaseApproval.release == release.id).count()
        audit.record(
            member, "release.approval_added", "release", release.id,
            project_id=release.project_id,
            after={"approvals": count, "required": floor["min_approvals"]},
        )  # fmt: skip
        reached = count >= floor["min_approvals"]
        release.updated_at = now
        if reached:
            release.state, release.approved_at = "approved", now
        release.save()
        if reached:
            _announce(member, release, "approved", "release.approved")
    if reached:
        _emit(release, "release.approved")
    return release


def _close(member: Member, release_id: str, state: str, reason: str | None) -> StudioRelease:
    """Reject or cancel an open release: the project is back to draft."""
    action = "rejected" if state == "rejected" else "cancelled"
    release, _, role = find(member, release_id, "reviewer" if state == "rejected" else "viewer")
    requester = release.requested_by == member.user_id
    if state == "cancelled" and not requester and not roles.at_least(role, "admin"):
        raise roles.refused("admin", "project")
    with write():
        release = _reload(member, release)
        if release.state not in OPEN_STATES:
            raise invalid_state(release, action)
        now = clock.now()
        release.state, release.reason, release.decided_by = state, reason, member.user_id
        release.closed_at = release.updated_at = now
        release.save()
        audit.record(
            member, f"release.{action}", "release", release.id, project_id=release.project_id,
            after=_audited(release), reason=reason,
        )  # fmt: skip
    _emit(release, f"release.{action}")
    return release


def reject(member: Member, release_id: str, reason: str) -> StudioRelease:
    """Reject an open release (project reviewer; a reason)."""
    if not reason.strip():
        raise invalid("reason must not be blank", "reason")
    return _close(member, release_id, "rejected", reason)


def cancel(member: Member, release_id: str, reason: str | None) -> StudioRelease:
    """Cancel an open release (its requester, or a project admin)."""
    return _close(member, release_id, "cancelled", reason)


def deploy(member: Member, release_id: str) -> StudioRelease:
    """Publish an approved release (project admin)."""
    release, project, _ = find(member, release_id, "admin")
    projects.writable(project, authoring=False)
    with write():
        release = _reload(member, release)
        if release.state != "approved":
            raise invalid_state(release, "deployed (only an approved release is)")
        previous = contract_versions.publish(release)
        release.deployed_by = member.user_id
        release.save()
        audit.record(
            member, "release.published", "release", release.id, project_id=release.project_id,
            after=_audited(release),
            superseded=previous.id if previous else None,
        )  # fmt: skip
    _emit(release, "release.published", superseded=previous.id if previous else None)
    return release


def _previous(current: StudioRelease) -> StudioRelease | None:
    """The release published before `current` (the most recently superseded one)."""
    return (
        StudioRelease.select()
        .where(
            (StudioRelease.project == current.project_id)
            & (StudioRelease.state == "superseded")
            & (StudioRelease.id != current.id)
        )
        .order_by(StudioRelease.closed_at.desc(), StudioRelease.number.desc())
        .first()
    )


def rollback(
    member: Member, release_id: str, reason: str | None, *, emergency: bool = False
) -> StudioRelease:
    """Re-publish the release published before `release_id` (the published one) as a new
    release (project admin). Refused while a release is open unless `emergency` (a reason
    then, and the open release is cancelled)."""
    if emergency and not (reason or "").strip():
        raise invalid("an emergency rollback needs a reason", "reason")
    release, project, _ = find(member, release_id, "admin")
    projects.writable(project, authoring=False)
    cancelled: StudioRelease | None = None
    with write():
        release = _reload(member, release)
        if release.state != "published":
            raise invalid_state(release, "rolled back (only the published release is)")
        target = _previous(release)
        if target is None:
            raise ApiError(
                409, "NOTHING_TO_ROLL_BACK",
                f"No release of this project was published before release {release.number}",
                details={"release_id": release.id, "state": release.state},
            )  # fmt: skip
        open_release = projects.open_release(project.id)
        if open_release is not None and not emergency:
            _refuse_open(project, "rollback")
        now = clock.now()
        if open_release is not None:
            cancelled = open_release
            cancelled.state, cancelled.decided_by = "cancelled", member.user_id
            cancelled.reason = f"cancelled by an emergency rollback: {reason}"
            cancelled.closed_at = cancelled.updated_at = now
            cancelled.save()
            audit.record(
                member, "release.cancelled", "release", cancelled.id, project_id=project.id,
                after=_audited(cancelled), reason=cancelled.reason,
                emergency=True,
            )  # fmt: skip
        kind = "Emergency rollback" if emergency else "Rollback"
        new = _new_release(
            member, project, target.snapshot, release_diff.diff(release.snapshot, target.snapshot),
            "approved",
            f"{kind} to release {target.number}", "", rollback_of=target.id,
            emergency=emergency, reason=reason, approved_at=now, deployed_by=member.user_id,
        )  # fmt: skip
        contract_versions.publish(new)
        audit.record(
            member, "release.emergency_rolled_back" if emergency else "release.rolled_back",
            "release", new.id, project_id=project.id,
            after=_audited(new),
            rolled_back=release.id, restored=target.id, reason=reason, emergency=emergency,
        )  # fmt: skip
    if cancelled is not None:
        _emit(cancelled, "release.cancelled")
    _emit(new, "release.rolled_back", rolled_back=release.id, restored=target.id)
    return new


def _palette_request(member: Member, args: dict[str, Any]) -> dict[str, Any]:
    """The palette's `release.request`: the same rules as `POST /projects/{id}/releases`."""
    extra = sorted(set(args) - {"project_id", "title", "notes"})
    if extra:
        raise invalid(f"Unknown args {', '.join(extra)} for release.request", "args")
    values: dict[str, str] = {}
    for name, limit, required in (("project_id", 40, True), ("title", 200, False),
                                  ("notes", 10_000, False)):  # fmt: skip
        value = args.get(name)
        if value is None and not required:
            continue
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise invalid(f"args.{name} must be a non-blank string of at most {limit} "
                          "characters", f"args.{name}")  # fmt: skip
        values[name] = value
    release = request(member, values["project_id"], values.get("title", ""),
                      values.get("notes", ""))  # fmt: skip
    return view(release)


palette.provide("release.request", _palette_request)
