"""Version sync: bring the app head version into its profiles' head states, as a background
job, and the records it leaves (sync jobs, conflicts).

`start` checks the request (the app has a head version; `profileIds` are live profiles of
the app, else 404), creates the `queued` job and enqueues `run`. The job syncs the version
that was head when it was requested (`versionId`), profile by profile:

- no head state, or a head state already derived from that version: `unchanged`;
- otherwise every file is compared three ways over digests: base (the state's base
  version), current (the state), incoming (the version). A change made on one side only is
  taken; files both sides changed differently go by strategy: `incoming` / `current` take
  the version's / the profile's file (`resolve_one_sided`), `smart` is `merge.sync`'s line
  merge (merged text goes to the blob store; unmergeable files are conflicts and keep the
  profile's file). `manual` records a `divergent` conflict per file the version changed
  that differs from the profile's and changes nothing (`conflicted`, or `unchanged`). The
  other strategies register the result as the profile's next state (`source: sync`, based
  on the version, `syncId`) and make it head, recording `smart`'s conflicts:
  `conflicted` if any, else `synced`.

Each profile is merged outside any transaction, then written in one transaction holding the
profile row, and only if its head state is still the one merged (else it is merged again),
so a sync never overwrites a state registered meanwhile. A profile that fails counts as
`failed`; the job goes on. Counts are saved as the job goes (at most every 0.2 s, and at
the end), so `GET /v1/sync/{id}` shows progress. Status: queued -> running -> completed, or
failed (a job-level error). A watchdog (`recover`, every minute) restarts jobs whose worker
died or whose task was lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

import peewee

from agentyard.core import blobs, clock, ids, jobs
from agentyard.core.errors import ApiError, not_found
from agentyard.core.store import write
from agentyard.core.tenancy import found
from agentyard.harnesslayer import apps, bundles, merge, pages
from agentyard.harnesslayer.auth import OrgCaller
from agentyard.harnesslayer.bundle_models import Conflict, State, SyncJob, Version
from agentyard.harnesslayer.models import App, Profile

log = logging.getLogger("agentyard.harnesslayer.sync")

OUTCOMES = ("synced", "unchanged", "conflicted", "failed")
MAX_ATTEMPTS = 5  # merges of one profile whose head state keeps moving
PROGRESS_SECONDS = 0.2  # counts are saved at most this often while the job runs, and at its end
# The watchdog (`recover`, every minute): a queued job unclaimed this long is enqueued again; a
# running one without a progress save this long lost its worker and is restarted, at most
# MAX_JOB_ATTEMPTS runs in all.
QUEUED_GRACE = 300
STALE_SECONDS = 600
MAX_JOB_ATTEMPTS = 3
RECOVER_BATCH = 200
# merge's kinds -> the API's reasons (`add_add`: both sides added different content).
REASONS = {"add_add": "both_modified"}


# --- views and queries ------------------------------------------------------------------------


def view(job: SyncJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "appId": job.app_id,
        "versionId": job.version_id,
        "strategy": job.strategy,
        "profileIds": job.profile_ids,
        "status": job.status,
        "counts": {
            "total": job.total,
            "synced": job.synced,
            "unchanged": job.unchanged,
            "conflicted": job.conflicted,
            "failed": job.failed,
        },
        "failure": job.failure,
        "createdAt": clock.iso(job.created_at),
        "startedAt": clock.iso(job.started_at),
        "completedAt": clock.iso(job.completed_at),
    }


def _sri(digest: str | None) -> str | None:
    return blobs.sri(digest) if digest else None


def conflict_view(row: Conflict) -> dict[str, Any]:
    return {
        "id": row.id,
        "appId": row.app_id,
        "profileId": row.profile_id,
        "syncId": row.sync_id,
        "strategy": row.strategy,
        "file": row.file,
        "reason": row.reason,
        "stateId": row.state_id,
        "baseVersionId": row.base_version_id,
        "versionId": row.version_id,
        "baseHash": _sri(row.base_digest),
        "currentHash": _sri(row.current_digest),
        "incomingHash": _sri(row.incoming_digest),
        "createdAt": clock.iso(row.created_at),
    }


def find(caller: OrgCaller, sync_id: str) -> SyncJob:
    query = (
        SyncJob.select(SyncJob)
        .join(App)
        .where(
            (SyncJob.id == sync_id)
            & (App.organization == caller.organization)
            & App.deleted_at.is_null()
        )
    )
    return found(query.first(), "sync job", sync_id)


def list_page(caller: OrgCaller, app_ref: str, page: int, size: int) -> dict[str, Any]:
    app = apps.find(caller, app_ref)
    query = SyncJob.select().where(SyncJob.app == app.id)
    return pages.page(query, SyncJob.created_at, SyncJob.id, page, size, view)


def _conflicts(caller: OrgCaller) -> Any:
    return (
        Conflict.select(Conflict)
        .join(App, on=Conflict.app == App.id)
        .switch(Conflict)
        .join(Profile, on=Conflict.profile == Profile.id)
        .where(
            (App.organization == caller.organization)
            & App.deleted_at.is_null()
            & Profile.deleted_at.is_null()
        )
    )


def find_conflict(caller: OrgCaller, conflict_id: str) -> Conflict:
    return found(
        _conflicts(caller).where(Conflict.id == conflict_id).first(), "conflict", conflict_id
    )


def list_conflicts(caller: OrgCaller, app_ref: str, page: int, size: int) -> dict[str, Any]:
    app = apps.find(caller, app_ref)
    query = _conflicts(caller).where(Conflict.app == app.id)
    return pages.page(query, Conflict.created_at, Conflict.id, page, size, conflict_view)


# --- starting a sync --------------------------------------------------------------------------


def start(caller: OrgCaller, app_ref: str, strategy: str, profile_ids: list[str] | None) -> SyncJob:
    """A queued sync job of the app head version (its run is enqueued)."""
    if strategy not in merge.STRATEGIES:
        raise ApiError(400, "bad_request", f"strategy must be one of {merge.STRATEGIES}")
    app = apps.find(caller, app_ref)
    if not app.head_version_id:
        raise ApiError(409, "conflict", f"App {app_ref} has no head version to sync")
    live = Profile.select(Profile.id).where((Profile.app == app.id) & Profile.deleted_at.is_null())
    if profile_ids is not None:
        found = {p.id for p in live.where(Profile.id.in_(profile_ids))}
        unknown = [p for p in profile_ids if p not in found]
        if unknown:
            raise not_found("profile", f"{unknown[0]} in app {app_ref}")
        total = len(profile_ids)
    else:
        total = live.count()
    with write():
        job = SyncJob.create(
            id=ids.new_id("sync", "-"),
            app=app.id,
            version_id=app.head_version_id,
            strategy=strategy,
            profile_ids=profile_ids,
            status="queued",
            total=total,
            created_at=clock.now(),
        )
    run(job.id)
    return job


def resolve_one_sided(
    strategy: str, base: dict[str, str], current: dict[str, str], incoming: dict[str, str]
) -> dict[str, str]:
    """`incoming`/`current` per file (values are digests, absence counts as a value): the same
    on both sides, or changed on one side only -> that; changed differently on both sides ->
    the version's file (`incoming`) or the profile's (`current`)."""
    out: dict[str, str] = {}
    for path in base.keys() | current.keys() | incoming.keys():
        b, c, i = base.get(path), current.get(path), incoming.get(path)
        if c == i or i == b:
            value = c
        elif c == b:
            value = i
        else:
            value = i if strategy == "incoming" else c
        if value is not None:
            out[path] = value
    return out


# --- the job ----------------------------------------------------------------------------------


@jobs.task(name="harnesslayer.sync_version")
def run(sync_id: str) -> None:
    """Sync every covered profile; see the module docstring."""
    now = clock.now()
    with write():
        claimed = (
            SyncJob.update(status="running", started_at=now, heartbeat_at=now)
            .where((SyncJob.id == sync_id) & (SyncJob.status == "queued"))
            .execute()
        )
    job = SyncJob.get_or_none(SyncJob.id == sync_id)
    if not claimed or job is None:
        return
    try:
        counts = _run(job)
    except Exception:
        log.exception("sync job %s failed", sync_id)
        failure = {"code": "internal_error", "message": "The sync failed unexpectedly"}
        _finish(job, "failed", failure=failure)
        return
    if counts is not None:
        _finish(job, "completed")


def _live(job: SyncJob) -> Any:
    """The condition that `job`'s run is still the live one (`recover` did not replace it)."""
    return (SyncJob.id == job.id) & (SyncJob.attempt == job.attempt) & (SyncJob.status == "running")


def _finish(job: SyncJob, status: str, **fields: Any) -> None:
    with write():
        SyncJob.update(status=status, completed_at=clock.now(), **fields).where(
            _live(job)
        ).execute()


def _run(job: SyncJob) -> dict[str, int] | None:
    """The job's counts, or None when it ended otherwise (failed, or replaced by `recover`)."""
    app = App.get_or_none((App.id == job.app_id) & App.deleted_at.is_null())
    version = Version.get_or_none((Version.app == job.app_id) & (Version.id == job.version_id))
    if app is None or version is None:
        what = "app" if app is None else "version"
        failure = {"code": f"{what}_gone", "message": f"The {what} no longer exists"}
        _finish(job, "failed", failure=failure)
        return None
    live = Profile.select(Profile.id).where((Profile.app == app.id) & Profile.deleted_at.is_null())
    if job.profile_ids is not None:
        found = {p.id for p in live.where(Profile.id.in_(job.profile_ids))}
        profile_ids = [p for p in job.profile_ids if p in found]
        gone = len(job.profile_ids) - len(profile_ids)  # deleted since: nothing to sync
    else:
        profile_ids = [p.id for p in live.order_by(Profile.created_at, Profile.id)]
        gone = 0
    counts = dict.fromkeys(OUTCOMES, 0)
    counts["unchanged"] = gone
    total = len(profile_ids) + gone
    syncer = _Syncer(job, version)
    saved = 0.0
    for profile_id in profile_ids:
        try:
            outcome = syncer.profile(profile_id)
        except Exception:
            log.exception("sync job %s: profile %s failed", job.id, profile_id)
            outcome = "failed"
        counts[outcome] += 1
        if time.monotonic() - saved >= PROGRESS_SECONDS:
            if not _save_counts(job, total, counts):
                log.warning("sync job %s: run %d was replaced; stopping", job.id, job.attempt)
                return None
            saved = time.monotonic()
    return counts if _save_counts(job, total, counts) else None


def _save_counts(job: SyncJob, total: int, counts: dict[str, int]) -> bool:
    """Save progress (the job's heartbeat); False when this run is no longer the live one."""
    with write():
        return bool(
            SyncJob.update(total=total, heartbeat_at=clock.now(), **counts)
            .where(_live(job))
            .execute()
        )


# --- the watchdog -----------------------------------------------------------------------------


def recover(now: dt.datetime | None = None) -> dict[str, int]:
    """Restart sync jobs whose worker died or whose task was lost; how many of each.

    - `queued` with no sign of life for `QUEUED_GRACE` seconds (its task was lost, e.g. a
      queue flushed): enqueued again. A duplicate task is harmless: only one claims the job.
    - `running` with no heartbeat for `STALE_SECONDS` (the worker died): the next attempt is
      queued, up to `MAX_JOB_ATTEMPTS` runs; then the job fails with `worker_lost`. A run
      that was only slow notices it was replaced at its next progress save and stops.

    Profiles a replaced run already synced count as `unchanged` in the next run. Safe to run
    anywhere, any number of times: every change is conditional on the state it read.
    """
    now = now or clock.now()
    requeued = restarted = abandoned = 0
    last_sign = peewee.fn.COALESCE(SyncJob.heartbeat_at, SyncJob.created_at)
    lost = SyncJob.select(SyncJob.id, SyncJob.heartbeat_at).where(
        (SyncJob.status == "queued") & (last_sign < now - dt.timedelta(seconds=QUEUED_GRACE))
    )
    for job in list(lost.limit(RECOVER_BATCH)):
        with write():
            touched = (
                SyncJob.update(heartbeat_at=now)
                .where(
                    (SyncJob.id == job.id)
                    & (SyncJob.status == "queued")
                    & _same(SyncJob.heartbeat_at, job.heartbeat_at)
                )
                .execute()
            )
        if touched:
            run(job.id)
            requeued += 1
    stale = SyncJob.select(SyncJob.id, SyncJob.attempt).where(
        (SyncJob.status == "running")
        & (SyncJob.heartbeat_at < now - dt.timedelta(seconds=STALE_SECONDS))
    )
    for job in list(stale.limit(RECOVER_BATCH)):
        final = job.attempt >= MAX_JOB_ATTEMPTS
        changes: dict[Any, Any] = {SyncJob.attempt: job.attempt + 1, SyncJob.heartbeat_at: now}
        if final:
            message = f"The sync's worker stopped responding {job.attempt} times"
            changes.update(
                {
                    SyncJob.status: "failed",
                    SyncJob.completed_at: now,
                    SyncJob.failure: {"code": "worker_lost", "message": message},
                }
            )
        else:
            changes[SyncJob.status] = "queued"
        with write():
            updated = (
                SyncJob.update(changes)
                .where(
                    (SyncJob.id == job.id)
                    & (SyncJob.status == "running")
                    & (SyncJob.attempt == job.attempt)
                )
                .execute()
            )
        if not updated:
            continue
        log.warning("sync job %s: run %d stopped responding", job.id, job.attempt)
        if final:
            abandoned += 1
        else:
            run(job.id)
            restarted += 1
    return {"requeued": requeued, "restarted": restarted, "failed": abandoned}


def _same(column: Any, value: Any) -> Any:
    return column.is_null() if value is None else column == value


@jobs.periodic_task(jobs.crontab(minute="*"), name="harnesslayer.sync_watchdog")
def _watchdog() -> None:
    recover()


class _Syncer:
    """Merges one version into profiles, caching the base versions' file lists."""

    def __init__(self, job: SyncJob, version: Version) -> None:
        self.job = job
        self.version = version
        self.incoming = version.files
        self.bases: dict[str | None, list[dict[str, Any]]] = {version.id: version.files}
        self.store = blobs.store()

    def base_files(self, version_id: str | None) -> list[dict[str, Any]]:
        if version_id not in self.bases:
            self.bases[version_id] = bundles.version_files(self.job.app_id, version_id)
        return self.bases[version_id]

    def profile(self, profile_id: str) -> str:
        """Sync one profile; its outcome (one of OUTCOMES)."""
        for _ in range(MAX_ATTEMPTS):
            outcome = self._attempt(profile_id)
            if outcome is not None:
                return outcome
        log.warning("sync job %s: profile %s kept changing", self.job.id, profile_id)
        return "failed"

    def _attempt(self, profile_id: str) -> str | None:
        """An outcome, or None when the head state moved while merging (merge again)."""
        profile = Profile.get_or_none((Profile.id == profile_id) & Profile.deleted_at.is_null())
        if profile is None or not profile.head_state_id:
            return "unchanged"
        state = State.get_or_none(
            (State.profile == profile_id)
            & (State.id == profile.head_state_id)
            & (State.status == "ready")
        )
        if state is None or state.base_version_id == self.version.id:
            return "unchanged"
        base = self.base_files(state.base_version_id)
        sizes = {
            f["digest"]: f["size"] for files in (base, state.files, self.incoming) for f in files
        }
        merged, conflicts = self._merge(
            {f["name"]: f["digest"] for f in base},
            {f["name"]: f["digest"] for f in state.files},
            {f["name"]: f["digest"] for f in self.incoming},
            sizes,
        )
        now = clock.now()
        if self.job.strategy == "manual":
            if not conflicts:
                return "unchanged"
            with write():
                self._record_conflicts(profile, state, conflicts, now)
            return "conflicted"
        files = [
            {"name": name, "digest": digest, "size": sizes[digest]}
            for name, digest in sorted(merged.items())
        ]
        with write():
            current = bundles.locked(
                Profile.select().where((Profile.id == profile_id) & Profile.deleted_at.is_null())
            ).first()
            if current is None:
                return "unchanged"
            if current.head_state_id != state.id:
                return None
            bundles.new_state(
                state.organization_id,
                current,
                state_id=ids.new_id("state", "-"),
                source="sync",
                status="ready",
                files=files,
                now=now,
                base_version_id=self.version.id,
                sync_id=self.job.id,
            )
            self._record_conflicts(current, state, conflicts, now)
        return "conflicted" if conflicts else "synced"

    def _merge(
        self,
        base: dict[str, str],
        current: dict[str, str],
        incoming: dict[str, str],
        sizes: dict[str, int],
    ) -> tuple[dict[str, str], list[merge.Conflict]]:
        """The merged file map (name -> digest) and the conflicts, as the spec rules them.

        `smart` is `merge.sync`'s. The engine's `incoming`/`current` take one side wholesale
        and its `manual` flags every difference; the spec takes a change made on one side
        only whatever the strategy (the strategy decides files both sides changed) and has
        `manual` flag only files the version changed, so those are settled here.
        """
        strategy = self.job.strategy
        if strategy in ("incoming", "current"):
            return resolve_one_sided(strategy, base, current, incoming), []
        result = merge.sync(
            strategy, base, current, incoming, load=self.store.get, digest=blobs.digest_of
        )
        for digest, data in result.blobs.items():
            self.store.put(data)
            sizes[digest] = len(data)
        conflicts = result.conflicts
        if strategy == "manual":
            conflicts = [c for c in conflicts if c.incoming != c.base]
        return result.files, conflicts

    def _record_conflicts(
        self, profile: Profile, state: State, conflicts: list[merge.Conflict], now: Any
    ) -> None:
        rows = [
            {
                "id": ids.new_id("conf", "-"),
                "app": self.job.app_id,
                "profile": profile.id,
                "sync": self.job.id,
                "strategy": self.job.strategy,
                "file": c.path,
                "reason": REASONS.get(c.kind, c.kind),
                "state_id": state.id,
                "base_version_id": state.base_version_id,
                "version_id": self.version.id,
                "base_digest": c.base,
                "current_digest": c.current,
                "incoming_digest": c.incoming,
                "created_at": now,
            }
            for c in conflicts
        ]
        for start in range(0, len(rows), 100):
            Conflict.insert_many(rows[start : start + 100]).execute()
