"""Bundles: uploads of app versions and profile states, their registration, downloads and
rollbacks, and the signed blob URLs behind them.

Flow. `start_upload` validates the declared `{name, hash}` files, reserves the version or
state id and answers one signed PUT URL per file (`<surface>/v1/blobs/upload/<token>`, the
token naming the upload and the file's position, so it stays short whatever the names).
`receive` checks each PUT against the declared hash, stores the bytes in the content-
addressed blob store and marks the file received *for this upload*: a file counts only when
its bytes were PUT to this upload, even if identical content is already stored (otherwise
completing an upload would tell whether some other tenant holds a file with a given hash,
and hand it out in the archive). `complete_*` / `create_*` register the bundle as the app's
next version (or the profile's next state) and move the head, all in one transaction that
holds the app (or profile) row: numbers are sequential and heads never lost, on SQLite
(`BEGIN IMMEDIATE`) and on PostgreSQL (`SELECT ... FOR UPDATE`).

Downloads build a deterministic zip of the files once per bundle (stored as a blob, its
digest kept on the row) and answer a signed, expiring `<surface>/v1/blobs/download/<token>`
URL; the token names the archive and the version or state, which must still exist when the
URL is used. Limits and lifetimes come from the settings `harnesslayer_*` (README).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import AsyncIterable, Iterable
from typing import Any, TypeVar, cast

import peewee

from agentyard.config import Settings
from agentyard.core import aio, blobs, clock, ids, runtime
from agentyard.core.errors import ApiError, not_found
from agentyard.core.store import is_sqlite, with_connection, write
from agentyard.harnesslayer import apps, history, pages, profiles, upload_expiry
from agentyard.harnesslayer.auth import OrgCaller
from agentyard.harnesslayer.bundle_models import (
    State,
    Upload,
    UploadFile,
    Version,
    delete_profile_rows,
)
from agentyard.harnesslayer.models import App, Profile
from agentyard.harnesslayer.orgs import RESERVED

_M = TypeVar("_M", bound=peewee.Model)  # `locked` keeps the query's model type

UPLOAD_PATH = "/v1/blobs/upload/"
DOWNLOAD_PATH = "/v1/blobs/download/"
KINDS: dict[str, tuple[str, type[Version] | type[State]]] = {
    "version": ("ver", Version),
    "state": ("state", State),
}


def settings() -> Settings:
    return runtime.settings()


# A blob PUT carries a whole file: its body limit is the file maximum, not the JSON one, and
# `receive` streams it (the surface registers this under its mount; see `Surface.body_limits`).
UPLOAD_PATH_PATTERN = re.escape(UPLOAD_PATH) + "[^/]+"


def max_file_bytes() -> int:
    """The largest file a signed upload URL takes."""
    return settings().harnesslayer_max_file_bytes


def _delete_profile_bundles(profile_id: str) -> None:
    """The profile deletion job's cleanup: its states, state uploads, conflicts, history."""
    with write():
        delete_profile_rows(profile_id)


profiles.register_cleanup(_delete_profile_bundles)


def locked(query: peewee.ModelSelect[_M]) -> peewee.ModelSelect[_M]:
    """`query` taking row locks on PostgreSQL; SQLite's write transactions are exclusive."""
    return query if is_sqlite() else query.for_update()


# --- views ------------------------------------------------------------------------------------


def files_view(files: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": f["name"], "hash": blobs.sri(f["digest"]), "size": f["size"]} for f in files]


def version_view(version: Version, head_version_id: str | None) -> dict[str, Any]:
    return {
        "id": version.id,
        "appId": version.app_id,
        "number": version.number,
        "files": files_view(version.files),
        "totalSize": version.total_size,
        "isHead": version.id == head_version_id,
        "createdAt": clock.iso(version.created_at),
    }


def state_view(state: State, head_state_id: str | None) -> dict[str, Any]:
    return {
        "id": state.id,
        "profileId": state.profile_id,
        "appId": state.app_id,
        "number": state.number,
        "source": state.source,
        "status": state.status,
        "baseVersionId": state.base_version_id,
        "files": files_view(state.files),
        "totalSize": state.total_size,
        "isHead": state.id == head_state_id,
        "sandboxId": state.sandbox_id,
        "syncId": state.sync_id,
        "failure": state.failure,
        "createdAt": clock.iso(state.created_at),
        "updatedAt": clock.iso(state.updated_at),
    }


def version_view_of(version: Version) -> dict[str, Any]:
    head = App.select(App.head_version_id).where(App.id == version.app_id).scalar()
    return version_view(version, head)


def state_view_of(state: State) -> dict[str, Any]:
    head = Profile.select(Profile.head_state_id).where(Profile.id == state.profile_id).scalar()
    return state_view(state, head)


# --- lookups (the caller's organization, live apps and profiles only) -------------------------


def find_profile(caller: OrgCaller, profile_id: str) -> Profile:
    profile = (
        Profile.select(Profile, App)
        .join(App)
        .where(
            (Profile.id == profile_id)
            & Profile.deleted_at.is_null()
            & (App.organization == caller.organization)
            & App.deleted_at.is_null()
        )
        .first()
    )
    if profile is None:
        raise not_found("profile", profile_id)
    return profile


def find_version(caller: OrgCaller, version_id: str) -> Version:
    version = (
        Version.select(Version)
        .join(App)
        .where(
            (Version.organization == caller.organization)
            & (Version.id == version_id)
            & App.deleted_at.is_null()
        )
        .first()
    )
    if version is None:
        raise not_found("version", version_id)
    return version


def find_state(caller: OrgCaller, state_id: str) -> State:
    state = (
        State.select(State)
        .join(Profile)
        .join(App)
        .where(
            (State.organization == caller.organization)
            & (State.id == state_id)
            & Profile.deleted_at.is_null()
            & App.deleted_at.is_null()
        )
        .first()
    )
    if state is None:
        raise not_found("state", state_id)
    return state


def locked_app(app_id: str) -> App:
    app = locked(App.select().where((App.id == app_id) & App.deleted_at.is_null())).first()
    if app is None:
        raise not_found("app", app_id)
    return app


def locked_profile(profile_id: str) -> Profile:
    query = Profile.select().where((Profile.id == profile_id) & Profile.deleted_at.is_null())
    profile = locked(query).first()
    if profile is None:
        raise not_found("profile", profile_id)
    return profile


def version_files(app_id: str, version_id: str | None) -> list[dict[str, Any]]:
    """The file list of one of the app's versions ([] for None or a version gone)."""
    if version_id is None:
        return []
    row = (
        Version.select(Version.files)
        .where((Version.app == app_id) & (Version.id == version_id))
        .first()
    )
    return row.files if row is not None else []


# --- uploads ----------------------------------------------------------------------------------


# The seed shows `"hash": "sha256-..."` without naming the encoding: besides the SRI form
# (`sha256-<base64>`, what core's manifests take) a hex digest is accepted, in either case.
_HEX_HASH = re.compile(r"sha256-([0-9A-Fa-f]{64})")


def _sri_form(item: Any) -> Any:
    """`item` with a `sha256-<64 hex>` hash rewritten to the SRI form (anything else as is)."""
    if isinstance(item, dict) and isinstance(item.get("hash"), str):
        found = _HEX_HASH.fullmatch(item["hash"])
        if found:
            return {**item, "hash": blobs.sri(found.group(1).lower())}
    return item


def _declare(files: list[dict[str, Any]]) -> list[blobs.DeclaredFile]:
    """The declared files; 400 for a bad entry (the schema's rules), 409 when every entry is
    good on its own but two of them claim one path (a name twice, or a file that is also
    another's directory), which the schema cannot state."""
    files = [_sri_form(item) for item in files]
    try:
        return blobs.declare(files)
    except blobs.ManifestError as exc:
        if _entries_valid(files):
            raise ApiError(409, "conflict", f"files: {exc}") from None
        raise ApiError(400, "bad_request", f"files: {exc}") from None


def _entries_valid(files: list[Any]) -> bool:
    """Whether each entry would be accepted alone (and there are not too many)."""
    if len(files) > blobs.config().max_files:
        return False
    try:
        for item in files:
            blobs.declare([item])
    except blobs.ManifestError:
        return False
    return True


def _reserve(caller: OrgCaller, kind: str, target_id: str, now: dt.datetime) -> None:
    """409 when `target_id` is registered or held by a live or completed upload; an expired,
    never completed upload gives its id up."""
    model = KINDS[kind][1]
    taken = model.select().where(
        (model.organization == caller.organization) & (model.id == target_id)
    )
    if taken.exists():
        raise ApiError(409, "conflict", f"A {kind} with id {target_id!r} already exists")
    holder = Upload.get_or_none(
        (Upload.organization == caller.organization)
        & (Upload.kind == kind)
        & (Upload.target_id == target_id)
    )
    if holder is None:
        return
    if holder.status == "pending" and holder.expires_at <= now:
        upload_expiry.release(holder, now)
        return
    raise ApiError(409, "conflict", f"A {kind} with id {target_id!r} already exists")


def start_upload(
    caller: OrgCaller,
    kind: str,
    app: App,
    profile: Profile | None,
    target_id: str | None,
    files: list[dict[str, Any]],
    base_url: str,
) -> dict[str, Any]:
    """Reserve the id, record the declared files, answer the signed PUT URLs."""
    declared = _declare(files)
    prefix = KINDS[kind][0]
    target = target_id or ids.new_id(prefix, "-")
    if target in RESERVED:
        raise ApiError(400, "bad_request", f"{kind}Id {target!r} is reserved")
    ttl = settings().harnesslayer_upload_ttl_seconds
    now = clock.now()
    expires = now + dt.timedelta(seconds=ttl)
    upload_id = ids.new_id("upload", "-")
    rows = [
        {"upload": upload_id, "position": i, "name": f.name, "digest": f.digest}
        for i, f in enumerate(declared)
    ]
    try:
        with write():
            _reserve(caller, kind, target, now)
            Upload.create(
                id=upload_id,
                organization=caller.organization,
                app=app.id,
                profile=profile.id if profile else None,
                kind=kind,
                target_id=target,
                expires_at=expires,
                created_at=now,
            )
            for start in range(0, len(rows), 200):
                UploadFile.insert_many(rows[start : start + 200]).execute()
    except peewee.IntegrityError:  # a concurrent upload took the id first
        raise ApiError(409, "conflict", f"A {kind} with id {target!r} already exists") from None
    urls = []
    for i, f in enumerate(declared):
        # The token names the file by position: names may be 512 multi-byte characters.
        token = blobs.upload_token(dataclasses.replace(f, name=str(i)), ttl, {"u": upload_id})
        urls.append(
            {"name": f.name, "url": base_url + UPLOAD_PATH + token, "expiresAt": clock.iso(expires)}
        )
    owner = {"profileId": profile.id} if profile else {"appId": app.id}
    return {
        "uploadId": upload_id,
        **owner,
        f"{kind}Id": target,
        "uploadUrls": urls,
        "expiresAt": clock.iso(expires),
    }


def _bad_token(exc: blobs.TokenError) -> ApiError:
    if isinstance(exc, blobs.ExpiredTokenError):
        return ApiError(410, "gone", "This signed URL has expired")
    return not_found("signed URL")


async def receive(token: str, chunks: AsyncIterable[bytes]) -> None:
    """Store one PUT file of an upload, streamed to disk (never whole in memory) and checked
    against its declared hash. The token and the upload are checked before the body is read."""
    item = await aio.run_blocking(with_connection(_pending_file), token)
    limit = settings().harnesslayer_max_file_bytes
    with blobs.Spool(limit) as spool:
        try:
            async for chunk in chunks:
                spool.write(chunk)
        except blobs.TooLargeError:
            raise ApiError(
                413, "payload_too_large", f"{item.name}: larger than {limit} bytes"
            ) from None
        await aio.run_blocking(with_connection(_store_received), token, item, spool)


def _pending_file(token: str) -> UploadFile:
    """The declared file a signed upload URL names, if its upload still takes files."""
    try:
        claims = blobs.upload_claims(token)
    except blobs.TokenError as exc:
        raise _bad_token(exc) from None
    extra = claims["x"]
    upload_id = extra.get("u")
    position = claims["n"]
    if not isinstance(upload_id, str) or not position.isdecimal():
        raise not_found("signed URL")
    item = (
        UploadFile.select(UploadFile, Upload)
        .join(Upload)
        .join(App)
        .where(
            (UploadFile.upload == upload_id)
            & (UploadFile.position == int(position))
            & App.deleted_at.is_null()
        )
        .first()
    )
    upload = item.upload if item is not None else None
    if upload is None or (
        upload.profile_id is not None
        and not Profile.select()
        .where((Profile.id == upload.profile_id) & Profile.deleted_at.is_null())
        .exists()
    ):
        raise not_found("upload")
    if upload.status == "completed":
        raise ApiError(410, "gone", f"Upload {upload.id} is already completed")
    if upload.expires_at <= clock.now():
        raise ApiError(410, "gone", f"Upload {upload.id} has expired")
    return item


def _store_received(token: str, item: UploadFile, spool: blobs.Spool) -> None:
    """Store a received file if it matches its declared hash, and mark it received."""
    where = (UploadFile.upload == item.upload_id) & (UploadFile.position == item.position)
    try:
        blobs.receive_spool(token, spool)
    except blobs.HashMismatchError:
        with write():  # remembered for `complete` (details.mismatched); a good PUT stays good
            UploadFile.update(status="mismatched").where(
                where & (UploadFile.status != "received")
            ).execute()
        raise ApiError(
            422,
            "hash_mismatch",
            f"{item.name}: the bytes do not match the declared hash {blobs.sri(item.digest)}",
        ) from None
    except blobs.TooLargeError as exc:
        raise ApiError(413, "payload_too_large", str(exc)) from None
    except blobs.TokenError as exc:
        raise _bad_token(exc) from None
    with write():
        UploadFile.update(status="received", size=spool.size).where(where).execute()


def _upload(caller: OrgCaller, upload_id: str, kind: str) -> Upload:
    upload = Upload.get_or_none(
        (Upload.id == upload_id)
        & (Upload.organization == caller.organization)
        & (Upload.kind == kind)
    )
    if upload is None:
        raise not_found("upload", upload_id)
    return upload


def _upload_of(caller: OrgCaller, kind: str, target_id: str) -> Upload | None:
    return Upload.get_or_none(
        (Upload.organization == caller.organization)
        & (Upload.kind == kind)
        & (Upload.target_id == target_id)
    )


def _received_files(upload: Upload, now: dt.datetime) -> list[dict[str, Any]]:
    """The upload's files, sorted by name; 410 when expired, 409 `upload_incomplete` unless
    every one was received and is stored."""
    if upload.expires_at <= now:
        raise ApiError(410, "gone", f"Upload {upload.id} has expired")
    items = list(UploadFile.select().where(UploadFile.upload == upload.id))
    store = blobs.store()
    missing = sorted(
        f.name
        for f in items
        if f.status == "pending" or (f.status == "received" and not store.exists(f.digest))
    )
    mismatched = sorted(f.name for f in items if f.status == "mismatched")
    if missing or mismatched:
        raise ApiError(
            409,
            "upload_incomplete",
            f"Upload {upload.id} is incomplete: {len(missing)} file(s) missing, "
            f"{len(mismatched)} not matching their hash",
            details={"missing": missing, "mismatched": mismatched},
        )
    files = [{"name": f.name, "digest": f.digest, "size": f.size} for f in items]
    return sorted(files, key=lambda f: f["name"])


# --- versions ---------------------------------------------------------------------------------


def _register_version(caller: OrgCaller, app: App, upload: Upload, now: dt.datetime) -> Version:
    """Inside a write transaction holding the app row: the next version, made head."""
    files = _received_files(upload, now)
    last = Version.select(peewee.fn.MAX(Version.number)).where(Version.app == app.id).scalar()
    version = Version.create(
        id=upload.target_id,
        organization=caller.organization,
        app=app.id,
        number=(last or 0) + 1,
        files=files,
        total_size=sum(f["size"] for f in files),
        created_at=now,
    )
    App.update(head_version_id=version.id, updated_at=now).where(App.id == app.id).execute()
    Upload.update(status="completed", completed_at=now).where(Upload.id == upload.id).execute()
    return version


def complete_version_upload(
    caller: OrgCaller, upload_id: str, app_ref: str, version_id: str
) -> Version:
    """Register the upload's version as the app head (again answering it when done).

    404 when the upload (or its app) does not exist; 409 when it does but the body names
    another app or version than it is for."""
    with write():
        upload = _upload(caller, upload_id, "version")
        try:
            app = locked_app(upload.app_id)
        except ApiError:
            raise not_found("upload", upload_id) from None
        upload = _upload(caller, upload_id, "version")  # as of the lock (PostgreSQL)
        if app_ref not in (app.id, app.slug) or upload.target_id != version_id:
            raise ApiError(
                409,
                "conflict",
                f"Upload {upload_id} is for version {upload.target_id} of app {app.id}",
            )
        if upload.status == "completed":
            return find_version(caller, version_id)
        return _register_version(caller, app, upload, clock.now())


def create_version(caller: OrgCaller, app_ref: str, version_id: str) -> Version:
    """Register an uploaded, not yet completed version of the app as its next version."""
    app = apps.find(caller, app_ref)
    with write():
        app = locked_app(app.id)
        upload = _upload_of(caller, "version", version_id)
        if upload is None or upload.app_id != app.id:
            raise not_found("uploaded version", f"{version_id} in app {app_ref}")
        if upload.status == "completed":
            raise ApiError(409, "conflict", f"Version {version_id} is already registered")
        return _register_version(caller, app, upload, clock.now())


def list_versions(caller: OrgCaller, app_ref: str, page: int, size: int) -> dict[str, Any]:
    app = apps.find(caller, app_ref)
    query = Version.select().where(Version.app == app.id)
    return pages.page(
        query,
        Version.created_at,
        Version.pk,
        page,
        size,
        lambda v: version_view(v, app.head_version_id),
    )


def rollback_version(
    caller: OrgCaller, app_ref: str, to_version_id: str, reason: str | None
) -> dict[str, Any]:
    app = apps.find(caller, app_ref)
    with write():
        app = locked_app(app.id)
        target = Version.get_or_none((Version.app == app.id) & (Version.id == to_version_id))
        if target is None:
            raise not_found("version", f"{to_version_id} in app {app_ref}")
        previous = app.head_version_id
        record = None
        if previous != target.id:
            now = clock.now()
            App.update(head_version_id=target.id, updated_at=now).where(App.id == app.id).execute()
            record = history.record(
                app.id,
                "version.rollback",
                data={"fromId": previous, "toId": target.id, "reason": reason},
                at=now,
            )
    return {
        "appId": app.id,
        "headVersionId": target.id,
        "previousHeadVersionId": previous,
        "historyId": record.id if record else None,
    }


# --- states -----------------------------------------------------------------------------------


def new_state(
    caller_org: Any,
    profile: Profile,
    *,
    state_id: str,
    source: str,
    status: str,
    files: list[dict[str, Any]],
    now: dt.datetime,
    base_version_id: str | None = None,
    make_head: bool = True,
    **extra: Any,
) -> State:
    """Inside a write transaction holding the profile row: the profile's next state.

    `base_version_id` defaults to the app head version of this moment.
    """
    if base_version_id is None:
        base_version_id = App.select(App.head_version_id).where(App.id == profile.app_id).scalar()
    last = State.select(peewee.fn.MAX(State.number)).where(State.profile == profile.id).scalar()
    state = State.create(
        id=state_id,
        organization=caller_org,
        app=profile.app_id,
        profile=profile.id,
        number=(last or 0) + 1,
        source=source,
        status=status,
        base_version_id=base_version_id,
        files=files,
        total_size=sum(f["size"] for f in files),
        created_at=now,
        updated_at=now,
        **extra,
    )
    if make_head:
        Profile.update(head_state_id=state.id, updated_at=now).where(
            Profile.id == profile.id
        ).execute()
    return state


def _register_state(caller: OrgCaller, profile: Profile, upload: Upload) -> State:
    now = clock.now()
    files = _received_files(upload, now)
    state = new_state(
        caller.organization,
        profile,
        state_id=upload.target_id,
        source="upload",
        status="ready",
        files=files,
        now=now,
    )
    Upload.update(status="completed", completed_at=now).where(Upload.id == upload.id).execute()
    return state


def complete_state_upload(
    caller: OrgCaller, upload_id: str, profile_ref: str, state_id: str
) -> State:
    """Register the upload's state as the profile head (again answering it when done); 404
    and 409 as for versions."""
    with write():
        upload = _upload(caller, upload_id, "state")
        live = (
            Profile.select(Profile.id)
            .join(App)
            .where(
                (Profile.id == upload.profile_id)
                & Profile.deleted_at.is_null()
                & App.deleted_at.is_null()
            )
        )
        if upload.profile_id is None or not live.exists():
            raise not_found("upload", upload_id)
        profile = locked_profile(upload.profile_id)
        upload = _upload(caller, upload_id, "state")  # as of the lock (PostgreSQL)
        if profile_ref != profile.id or upload.target_id != state_id:
            raise ApiError(
                409,
                "conflict",
                f"Upload {upload_id} is for state {upload.target_id} of profile {profile.id}",
            )
        if upload.status == "completed":
            return find_state(caller, state_id)
        return _register_state(caller, profile, upload)


def create_state(caller: OrgCaller, profile_ref: str, state_id: str) -> State:
    profile = find_profile(caller, profile_ref)
    with write():
        profile = locked_profile(profile.id)
        upload = _upload_of(caller, "state", state_id)
        if upload is None or upload.profile_id != profile.id:
            raise not_found("uploaded state", f"{state_id} of profile {profile_ref}")
        if upload.status == "completed":
            raise ApiError(409, "conflict", f"State {state_id} is already registered")
        return _register_state(caller, profile, upload)


def list_states(caller: OrgCaller, profile_ref: str, page: int, size: int) -> dict[str, Any]:
    profile = find_profile(caller, profile_ref)
    query = State.select().where(State.profile == profile.id)
    return pages.page(
        query,
        State.created_at,
        State.pk,
        page,
        size,
        lambda s: state_view(s, profile.head_state_id),
    )


def rollback_state(
    caller: OrgCaller, profile_ref: str, to_state_id: str, reason: str | None
) -> dict[str, Any]:
    profile = find_profile(caller, profile_ref)
    with write():
        profile = locked_profile(profile.id)
        target = State.get_or_none((State.profile == profile.id) & (State.id == to_state_id))
        if target is None:
            raise not_found("state", f"{to_state_id} of profile {profile_ref}")
        if target.status != "ready":
            raise ApiError(409, "conflict", f"State {to_state_id} is {target.status}, not ready")
        previous = profile.head_state_id
        record = None
        if previous != target.id:
            now = clock.now()
            Profile.update(head_state_id=target.id, updated_at=now).where(
                Profile.id == profile.id
            ).execute()
            record = history.record(
                profile.app_id,
                "state.rollback",
                profile_id=profile.id,
                user_id=profile.identifier,
                data={"fromId": previous, "toId": target.id, "reason": reason},
                at=now,
            )
    return {
        "profileId": profile.id,
        "headStateId": target.id,
        "previousHeadStateId": previous,
        "historyId": record.id if record else None,
    }


# --- downloads --------------------------------------------------------------------------------


def download_url(kind: str, row: Version | State, base_url: str) -> dict[str, Any]:
    """A signed, expiring URL of the bundle's zip archive (built once, then reused)."""
    if kind == "state":
        state = cast(State, row)  # kind "state" always comes with a State row
        if state.status != "ready":
            raise ApiError(409, "conflict", f"State {row.id} is {state.status}, not ready")
    store = blobs.store()
    digest = row.archive_digest
    if not digest or not store.exists(digest):
        archive = blobs.build_archive({f["name"]: f["digest"] for f in row.files})
        digest = store.put(archive)
        model = KINDS[kind][1]
        with write():
            model.update(archive_digest=digest).where(model.pk == row.pk).execute()
    ttl = settings().harnesslayer_download_ttl_seconds
    expires = clock.now() + dt.timedelta(seconds=ttl)
    token = blobs.download_token(digest, ttl, {"k": kind, "p": row.pk, "o": row.organization_id})
    return {"url": base_url + DOWNLOAD_PATH + token, "expiresAt": clock.iso(expires)}


def download_archive(token: str) -> tuple[bytes, str]:
    """(zip bytes, file name) behind a download token; 404 when the bundle is gone."""
    try:
        digest, claims = blobs.redeem_download(token)
    except blobs.TokenError as exc:
        raise _bad_token(exc) from None
    except blobs.BlobNotFoundError:
        raise not_found("archive") from None
    kind, pk, org = claims.get("k"), claims.get("p"), claims.get("o")
    if kind not in KINDS or not isinstance(pk, int) or not isinstance(org, str):
        raise not_found("archive")
    model = KINDS[kind][1]
    query = model.select(model.id).join(App, on=model.app == App.id)
    where = (model.pk == pk) & (model.organization == org) & App.deleted_at.is_null()
    if model is State:
        query = query.switch(State).join(Profile)
        where &= Profile.deleted_at.is_null()
    row = query.where(where).first()
    if row is None:
        raise not_found(kind, message=f"The {kind} of this archive no longer exists")
    return blobs.store().get(digest), f"{row.id}.zip"
