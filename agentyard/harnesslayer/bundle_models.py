"""Tables of an app's bundles: uploads, versions, profile states, sync jobs, conflicts, history.

Migration component `harnesslayer_bundles` (after `harnesslayer`, whose v1 holds apps and
profiles). File bytes live in the content-addressed blob store (`agentyard.core.blobs`);
rows hold `{name, digest, size}` lists, so identical files are stored once whoever uploads
them, and deleting rows never deletes blob files (another bundle may share them).

Ids. Version and state ids may be chosen by the client, unique within the organization
(`(organization, id)` indexes; the row's primary key is an internal integer). An upload
reserves its version or state id from the moment it is started (`(organization, kind,
target_id)`), so two uploads cannot race for one id. Upload, sync, conflict and history ids
are generated (`upload-`, `sync-`, `conf-`, `hist-` + ULID) and are the primary keys.

Every row hangs off its app (and, for states, conflicts and profile history, its profile)
with ON DELETE CASCADE: deleting an app or a profile row removes what belongs to it, and
`delete_app_rows` / `delete_profile_rows` do the same explicitly for the deletion jobs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import peewee

from agentyard.core import blobs
from agentyard.core.migrations import Migration, add_columns, create_tables, register
from agentyard.core.store import BaseModel, JsonField
from agentyard.harnesslayer.models import App, Organization, Profile

Rows = Iterable[tuple[Any, ...]]  # what `.tuples()` yields (peewee's stubs say: the models)

# File lists (`files` columns): [{"name": str, "digest": sha256 hex, "size": int}], by name.


class Upload(BaseModel):
    """A bundle upload in progress (or done): its declared files are in `UploadFile`."""

    id = peewee.CharField(primary_key=True, max_length=40)  # upload-<ulid>
    organization = peewee.ForeignKeyField(Organization, on_delete="CASCADE")
    app = peewee.ForeignKeyField(App, on_delete="CASCADE")
    app_id: str  # peewee's id accessor, declared for type checkers
    profile = peewee.ForeignKeyField(Profile, null=True, on_delete="CASCADE")  # states only
    profile_id: str | None  # peewee's id accessor, declared for type checkers
    kind = peewee.CharField(max_length=8)  # version | state
    target_id = peewee.CharField(max_length=128)  # the versionId / stateId it registers
    status = peewee.CharField(max_length=12, default="pending")  # pending | completed
    expires_at = peewee.DateTimeField()
    created_at = peewee.DateTimeField()
    completed_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hl_upload"
        indexes = ((("organization", "kind", "target_id"), True),)


class UploadFile(BaseModel):
    """One declared file of an upload. `status`: pending (nothing received yet), received
    (its bytes were PUT to this upload and stored), mismatched (the last PUT did not match)."""

    upload = peewee.ForeignKeyField(Upload, on_delete="CASCADE", index=False)
    upload_id: str  # peewee's id accessor, declared for type checkers
    position = peewee.IntegerField()  # index in the declared `files` (the URL token names it)
    name = peewee.CharField(max_length=512)
    digest = peewee.CharField(max_length=64)
    size = peewee.BigIntegerField(null=True)
    status = peewee.CharField(max_length=12, default="pending")

    class Meta:
        table_name = "hl_upload_file"
        primary_key = peewee.CompositeKey("upload", "position")


class Version(BaseModel):
    pk = peewee.AutoField()
    id = peewee.CharField(max_length=128)  # ver-<ulid> or chosen at upload
    organization = peewee.ForeignKeyField(Organization, on_delete="CASCADE")
    organization_id: str  # peewee's id accessor, declared for type checkers
    app = peewee.ForeignKeyField(App, on_delete="CASCADE")
    app_id: str  # peewee's id accessor, declared for type checkers
    number = peewee.IntegerField()
    files = JsonField()
    total_size = peewee.BigIntegerField()
    archive_digest = peewee.CharField(max_length=64, null=True)  # built on first download
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hl_version"
        indexes = ((("organization", "id"), True), (("app", "number"), True))


class State(BaseModel):
    pk = peewee.AutoField()
    id = peewee.CharField(max_length=128)  # state-<ulid> or chosen at upload
    organization = peewee.ForeignKeyField(Organization, on_delete="CASCADE")
    organization_id: str  # peewee's id accessor, declared for type checkers
    app = peewee.ForeignKeyField(App, on_delete="CASCADE")
    app_id: str  # peewee's id accessor, declared for type checkers
    profile = peewee.ForeignKeyField(Profile, on_delete="CASCADE")
    profile_id: str  # peewee's id accessor, declared for type checkers
    number = peewee.IntegerField()
    source = peewee.CharField(max_length=12)  # upload | snapshot | run | sync
    status = peewee.CharField(max_length=16)  # materializing | ready | failed
    base_version_id = peewee.CharField(max_length=128, null=True)
    files = JsonField()
    total_size = peewee.BigIntegerField(default=0)
    sandbox_id = peewee.CharField(max_length=256, null=True)
    sync_id = peewee.CharField(max_length=40, null=True)
    failure = JsonField(null=True)  # {"code", "message"}
    # Where a snapshot's archive is (never returned): a stored blob, or an allowed URL.
    snapshot_digest = peewee.CharField(max_length=64, null=True)
    snapshot_url = peewee.TextField(null=True)
    archive_digest = peewee.CharField(max_length=64, null=True)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "hl_state"
        indexes = ((("organization", "id"), True), (("profile", "number"), True))


class SyncJob(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=40)  # sync-<ulid>
    app = peewee.ForeignKeyField(App, on_delete="CASCADE")
    app_id: str  # peewee's id accessor, declared for type checkers
    version_id = peewee.CharField(max_length=128)  # the head version when it started
    strategy = peewee.CharField(max_length=12)
    profile_ids = JsonField(null=True)  # the requested profiles; null for all
    status = peewee.CharField(max_length=12, default="queued")
    total = peewee.IntegerField(default=0)
    synced = peewee.IntegerField(default=0)
    unchanged = peewee.IntegerField(default=0)
    conflicted = peewee.IntegerField(default=0)
    failed = peewee.IntegerField(default=0)
    failure = JsonField(null=True)
    created_at = peewee.DateTimeField()
    started_at = peewee.DateTimeField(null=True)
    completed_at = peewee.DateTimeField(null=True)
    # Liveness (see `sync.recover`): which run of the job is the live one, and when it (or
    # its enqueueing) last showed progress.
    attempt = peewee.IntegerField(default=1)
    heartbeat_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "hl_sync_job"


class Conflict(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=40)  # conf-<ulid>
    app = peewee.ForeignKeyField(App, on_delete="CASCADE")
    app_id: str  # peewee's id accessor, declared for type checkers
    profile = peewee.ForeignKeyField(Profile, on_delete="CASCADE")
    profile_id: str  # peewee's id accessor, declared for type checkers
    sync = peewee.ForeignKeyField(SyncJob, on_delete="CASCADE")
    sync_id: str  # peewee's id accessor, declared for type checkers
    strategy = peewee.CharField(max_length=12)  # manual | smart
    file = peewee.CharField(max_length=512)
    reason = peewee.CharField(max_length=16)
    state_id = peewee.CharField(max_length=128)  # the state the sync read
    base_version_id = peewee.CharField(max_length=128, null=True)
    version_id = peewee.CharField(max_length=128)
    base_digest = peewee.CharField(max_length=64, null=True)
    current_digest = peewee.CharField(max_length=64, null=True)
    incoming_digest = peewee.CharField(max_length=64, null=True)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hl_conflict"


class History(BaseModel):
    """One history record of an app. `type`: `version.rollback`, `state.rollback`,
    `response` (one per finished run). Who it concerns are columns (filters of
    `GET /v1/history/list`); the type's own fields (`fromId`, `toId`, `reason`; `instanceId`,
    `status`, `input`, `output`) are in `data`. Write rows with `history.record(...)`."""

    id = peewee.CharField(primary_key=True, max_length=40)  # hist-<ulid>
    app = peewee.ForeignKeyField(App, on_delete="CASCADE")
    app_id: str  # peewee's id accessor, declared for type checkers
    profile = peewee.ForeignKeyField(Profile, null=True, on_delete="CASCADE")
    profile_id: str | None  # peewee's id accessor, declared for type checkers
    session_id = peewee.CharField(max_length=128, null=True, index=True)
    user_id = peewee.CharField(max_length=256, null=True, index=True)  # external identifier
    type = peewee.CharField(max_length=32)
    data = JsonField(default=dict)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "hl_history"
        indexes = ((("app", "created_at"), False),)


# A blob written this recently may belong to an upload in progress: collectors spare it.
BLOB_GRACE_SECONDS = 3600


def _referenced(digest: str) -> bool:
    """Whether any remaining bundle row (of any app) still uses the blob `digest`."""
    pattern = f"%{digest}%"  # digests are 64 hex: a substring match is exact enough
    return (
        UploadFile.select().where(UploadFile.digest == digest).exists()
        or Version.select()
        .where((Version.archive_digest == digest) | (Version.files.cast("text") ** pattern))
        .exists()
        or State.select()
        .where(
            (State.archive_digest == digest)
            | (State.snapshot_digest == digest)
            | (State.files.cast("text") ** pattern)
        )
        .exists()
    )


def _digests_of_app(app_id: str) -> set[str]:
    found: set[str] = set()
    # cast: peewee's stubs type `.tuples()` as the query itself (rows of models).
    for files, archive in cast(
        Rows,
        Version.select(Version.files, Version.archive_digest).where(Version.app == app_id).tuples(),
    ):
        found.update(f["digest"] for f in files or [])
        found.add(archive)
    for files, archive, snapshot in cast(
        Rows,
        State.select(State.files, State.archive_digest, State.snapshot_digest)
        .where(State.app == app_id)
        .tuples(),
    ):
        found.update(f["digest"] for f in files or [])
        found.update((archive, snapshot))
    uploads = Upload.select(Upload.id).where(Upload.app == app_id)
    found.update(
        d
        for (d,) in cast(
            Rows,
            UploadFile.select(UploadFile.digest).where(UploadFile.upload.in_(uploads)).tuples(),
        )
    )
    return {d for d in found if isinstance(d, str) and d}


blobs.register_references("harnesslayer", _referenced)


def delete_app_rows(app_id: str) -> set[str]:
    """Remove an app's bundle rows (the app deletion job); the blob digests they used."""
    digests = _digests_of_app(app_id)
    History.delete().where(History.app == app_id).execute()
    Conflict.delete().where(Conflict.app == app_id).execute()
    SyncJob.delete().where(SyncJob.app == app_id).execute()
    State.delete().where(State.app == app_id).execute()
    Upload.delete().where(Upload.app == app_id).execute()  # its UploadFiles cascade
    Version.delete().where(Version.app == app_id).execute()
    return digests


def collect_blobs(digests: set[str]) -> int:
    """Delete the blob files of `digests` no remaining row of any product uses (content is
    shared across apps and products) and that no upload wrote recently; how many."""
    return blobs.collect(digests, BLOB_GRACE_SECONDS)


def delete_profile_rows(profile_id: str) -> None:
    """Remove a profile's states, state uploads, conflicts and history records (the profile
    deletion job; blob files stay)."""
    History.delete().where(History.profile == profile_id).execute()
    Conflict.delete().where(Conflict.profile == profile_id).execute()
    State.delete().where(State.profile == profile_id).execute()
    Upload.delete().where(Upload.profile == profile_id).execute()


TABLES = (Upload, UploadFile, Version, State, SyncJob, Conflict, History)
register(
    "harnesslayer_bundles",
    [
        Migration(
            1,
            "uploads, versions, states, sync jobs, conflicts, history",
            create_tables(*TABLES),
        ),
        Migration(
            2, "sync job attempt and heartbeat", add_columns(SyncJob, "attempt", "heartbeat_at")
        ),
    ],
)
