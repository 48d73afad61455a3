"""Abandoned uploads: an upload that was never completed holds its version or state id and
its received files until it expires; afterwards they are released.

- Reusing the id of an expired upload releases that upload at once (`release`, called by
  `bundles` when it reserves the id again).
- A periodic sweep (`sweep`, every 10 minutes) releases expired uploads nobody reused, and
  removes the blob store's temporary files that a dead process left (a PUT cut off mid-way
  by a crash, say) after `TEMP_MAX_AGE`.

Releasing deletes the upload's rows and then the blob files of its received files that no
other row uses. Blob collection spares files written in the last `BLOB_GRACE_SECONDS`, and an
upload only receives files before it expires, so its files are collected once that grace has
passed after expiry: at once by the sweep (which waits until then), or by a delayed job when
`release` runs earlier.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import cast

from agentyard.core import blobs, clock, jobs
from agentyard.core.store import write
from agentyard.harnesslayer import bundle_models
from agentyard.harnesslayer.bundle_models import Rows, Upload, UploadFile

log = logging.getLogger("agentyard.harnesslayer.uploads")

SWEEP_BATCH = 200
# Temporary files in the blob store (a PUT being received, a blob being written) untouched for
# this long belong to a process that died: the sweep removes them.
TEMP_MAX_AGE = 24 * 3600


def _delete(upload_id: str) -> list[str] | None:
    """Delete a pending upload's rows (its files cascade); the digests its files declared, or
    None when it is no longer a pending upload."""
    digests = [
        d
        for (d,) in cast(
            Rows,
            UploadFile.select(UploadFile.digest).where(UploadFile.upload == upload_id).tuples(),
        )
    ]
    deleted = (
        Upload.delete().where((Upload.id == upload_id) & (Upload.status == "pending")).execute()
    )
    return sorted(set(digests)) if deleted else None


def release(upload: Upload, now: dt.datetime) -> None:
    """Release an expired upload inside the caller's transaction; its blob files are
    collected by a job once they have been idle for the grace period."""
    digests = _delete(upload.id)
    if not digests:  # already released, or nothing declared
        return
    ready = upload.expires_at + dt.timedelta(seconds=bundle_models.BLOB_GRACE_SECONDS)
    collect_later.schedule((digests,), delay=max(0.0, (ready - now).total_seconds()))


@jobs.task(name="harnesslayer.collect_upload_blobs", retries=2, retry_delay=60)
def collect_later(digests: list[str]) -> None:
    """Delete the blob files of a released upload that nothing else uses."""
    bundle_models.collect_blobs(set(digests))


def sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Release uploads expired more than the grace period ago, and remove temporary blob files
    left by dead processes; how many uploads, blob files and temporary files went. Safe to run
    anywhere, any number of times."""
    now = now or clock.now()
    cutoff = now - dt.timedelta(seconds=bundle_models.BLOB_GRACE_SECONDS)
    expired = (
        Upload.select(Upload.id)
        .where((Upload.status == "pending") & (Upload.expires_at < cutoff))
        .order_by(Upload.expires_at)
        .limit(SWEEP_BATCH)
    )
    released = freed = 0
    for (upload_id,) in list(cast(Rows, expired.tuples())):
        with write():
            digests = _delete(upload_id)
        if digests is not None:
            released += 1
            freed += bundle_models.collect_blobs(set(digests))
    temp = blobs.store().remove_stale_temp(TEMP_MAX_AGE)
    if released or temp:
        log.info(
            "released %d expired uploads (%d blob files freed, %d stale temporary files)",
            released,
            freed,
            temp,
        )
    return {"uploads": released, "blobs": freed, "temp": temp}


@jobs.periodic_task(jobs.crontab(minute="*/10"), name="harnesslayer.upload_sweep")
def _sweep_job() -> None:
    sweep()
