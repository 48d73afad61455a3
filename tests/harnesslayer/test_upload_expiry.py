"""Abandoned uploads: the sweep releases expired ones with the files only they received (and
temporary files of dead processes), and reusing an expired upload's id schedules its files
for collection."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import httpx

from agentyard.core import blobs, clock
from agentyard.core.store import connection, write
from agentyard.harnesslayer import bundle_models, upload_expiry
from agentyard.harnesslayer.bundle_models import Upload
from tests.harnesslayer.bundle_helpers import OCTET, publish_version, put_files, start_version


def unique(label: str) -> bytes:
    return f"{label} {secrets.token_hex(8)}\n".encode()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def complete(ws, app: dict, upload: dict) -> httpx.Response:
    return ws.http.post(
        f"/v1/version/upload/{upload['uploadId']}/complete",
        headers=ws.headers,
        json={"appId": app["id"], "versionId": upload["versionId"]},
    )


def test_the_sweep_releases_expired_uploads_and_the_files_only_they_received(ws, monkeypatch):
    app = ws.app()
    shared, mine, never_sent = unique("shared"), unique("mine"), unique("never sent")
    publish_version(ws, app, {"shared.md": shared})
    files = {"shared.md": shared, "mine.md": mine, "never.md": never_sent}
    upload = start_version(ws, app, files, versionId="abandoned")
    put_files(upload, files, skip=("never.md",))
    store = blobs.store()
    assert store.exists(digest(shared)) and store.exists(digest(mine))

    with connection():
        upload_expiry.sweep()  # now: not expired yet
        assert Upload.get_or_none(Upload.id == upload["uploadId"]) is not None
        expires = Upload.get_by_id(upload["uploadId"]).expires_at
    grace = dt.timedelta(seconds=bundle_models.BLOB_GRACE_SECONDS)
    with connection():
        upload_expiry.sweep(now=expires + grace - dt.timedelta(seconds=60))  # within the grace
        assert Upload.get_or_none(Upload.id == upload["uploadId"]) is not None

    # The files were written seconds ago: pretend they have been idle for the whole grace.
    monkeypatch.setattr(bundle_models, "BLOB_GRACE_SECONDS", 0)
    with connection():
        swept = upload_expiry.sweep(now=expires + grace + dt.timedelta(seconds=1))
        assert Upload.get_or_none(Upload.id == upload["uploadId"]) is None
    assert swept["uploads"] >= 1 and swept["blobs"] >= 1
    assert not store.exists(digest(mine))  # only this upload had it
    assert store.exists(digest(shared))  # the published version uses it

    gone = complete(ws, app, upload)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    put = httpx.put(upload["uploadUrls"][1]["url"], content=mine, headers=OCTET, timeout=30)
    assert put.status_code == 404  # its signed URL names an upload that no longer exists
    again = start_version(ws, app, {"a.md": unique("a")}, versionId="abandoned")
    assert again["versionId"] == "abandoned"


def test_reusing_an_expired_uploads_id_collects_its_files_after_the_grace(ws, monkeypatch):
    app = ws.app()
    mine = unique("first try")
    first = start_version(ws, app, {"mine.md": mine}, versionId="retried")
    put_files(first, {"mine.md": mine})
    with connection(), write():
        Upload.update(expires_at=clock.now() - dt.timedelta(seconds=1)).where(
            Upload.id == first["uploadId"]
        ).execute()
    scheduled: list[tuple] = []
    monkeypatch.setattr(
        upload_expiry.collect_later,
        "schedule",
        lambda args, delay: scheduled.append((args, delay)),
    )

    second = start_version(ws, app, {"other.md": unique("second try")}, versionId="retried")
    assert second["uploadId"] != first["uploadId"]
    assert complete(ws, app, first).status_code == 404  # released
    [(args, delay)] = scheduled
    assert args == ([digest(mine)],)
    assert bundle_models.BLOB_GRACE_SECONDS - 60 < delay <= bundle_models.BLOB_GRACE_SECONDS

    store = blobs.store()
    assert store.exists(digest(mine))
    monkeypatch.setattr(bundle_models, "BLOB_GRACE_SECONDS", 0)  # the delay has passed
    with connection():
        upload_expiry.collect_later.call_local(*args)
    assert not store.exists(digest(mine))


def test_the_sweep_removes_temporary_files_a_dead_process_left(ws):
    import os
    import time

    spools = blobs.store().spool_dir()
    stale, fresh = spools / "spool-crashed", spools / "spool-receiving"
    stale.write_bytes(b"half a file")
    fresh.write_bytes(b"still arriving")
    old = time.time() - upload_expiry.TEMP_MAX_AGE - 60
    os.utime(stale, (old, old))
    with connection():
        assert upload_expiry.sweep()["temp"] >= 1
    assert not stale.exists() and fresh.exists()
    fresh.unlink()
