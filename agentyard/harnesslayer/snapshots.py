"""State snapshots: register a profile state from an archive URL, materialize it in the
background.

`register` accepts `storageUrl` only when it is one of agentyard's own signed download URLs
(`<surface>/v1/blobs/download/<token>`: the token is checked now and the archive is read
from the blob store, no request is made) or a URL under a configured storage prefix
(`AGENTYARD_BLOB_FETCH_ALLOW`, fetched later through `netguard`: public addresses only, no
redirects, size and time capped). Anything else is 403 `url_refused`, so a client cannot
make agentyard call arbitrary or internal addresses. The new state is `materializing`; the job
`materialize` unpacks the archive (a zip, or a gzip-compressed tar), stores its files and
makes the state `ready` and the profile head state, or `failed` with a `failure` (archives
over `harnesslayer_max_archive_bytes` uncompressed, unsafe member names, links, too many
files, damaged or unreadable data: an archive that does not read cleanly to its end is
refused as a whole, never imported in part).
"""

from __future__ import annotations

import gzip
import io
import logging
import tarfile
import tempfile
import zlib
from typing import IO, Self, cast

from agentyard.core import blobs, clock, ids, jobs
from agentyard.core.errors import ApiError, not_found
from agentyard.core.store import write
from agentyard.harnesslayer import bundles
from agentyard.harnesslayer.auth import OrgCaller
from agentyard.harnesslayer.bundle_models import State
from agentyard.harnesslayer.models import App, Profile

log = logging.getLogger("agentyard.harnesslayer.snapshots")

TAR_HEADER_ALLOWANCE = 4096  # decompressed bytes allowed per tar member beyond its contents
TAR_SPOOL_MEMORY = 8 * 1024 * 1024  # a decompressed tar larger than this is spooled to disk
GUNZIP_CHUNK = 64 * 1024


def register(
    caller: OrgCaller,
    profile_ref: str,
    storage_url: str,
    sandbox_id: str | None,
    base_url: str,
) -> State:
    """A new `materializing` state of the profile; its materialization is enqueued."""
    profile = bundles.find_profile(caller, profile_ref)
    digest, url = _source(storage_url, base_url)
    with write():
        profile = bundles.locked_profile(profile.id)
        state = bundles.new_state(
            caller.organization,
            profile,
            state_id=ids.new_id("state", "-"),
            source="snapshot",
            status="materializing",
            files=[],
            now=clock.now(),
            make_head=False,
            sandbox_id=sandbox_id,
            snapshot_digest=digest,
            snapshot_url=url,
        )
    materialize(state.pk)
    return state


def _source(storage_url: str, base_url: str) -> tuple[str | None, str | None]:
    """(blob digest, None) for one of our download URLs, (None, url) for an allowed one.

    One of our download URLs answers as a GET on it would: 404 for a token this server did
    not sign (or a blob gone), 410 once expired. Any other well-formed URL outside the
    configured storage locations is refused by policy: 403 `url_refused`."""
    token = blobs.token_from_url(storage_url, [base_url + bundles.DOWNLOAD_PATH])
    if token is not None:
        try:
            digest, _ = blobs.redeem_download(token)
        except blobs.ExpiredTokenError:
            raise ApiError(410, "gone", "storageUrl: the signed URL has expired") from None
        except (blobs.TokenError, blobs.BlobNotFoundError):
            raise not_found("signed URL", message="storageUrl: no such signed URL") from None
        return digest, None
    if blobs.fetch_allowed(storage_url):
        return None, storage_url
    raise ApiError(
        403,
        "url_refused",
        "storageUrl must be one of this server's signed download URLs or under a storage "
        "location its configuration allows",
        {"field": "storageUrl"},
    )


@jobs.task(name="harnesslayer.materialize_snapshot")
def materialize(state_pk: int) -> None:
    """Fetch and unpack a snapshot archive; the state becomes ready and head, or failed."""
    state = State.get_or_none(State.pk == state_pk)
    if state is None or state.status != "materializing":
        return
    cap = bundles.settings().harnesslayer_max_archive_bytes
    try:
        if state.snapshot_digest:
            store = blobs.store()
            if store.size(state.snapshot_digest) > cap:
                raise blobs.TooLargeError(f"the archive is larger than {cap} bytes")
            data = store.get(state.snapshot_digest)
        else:
            data = blobs.fetch(state.snapshot_url or "", max_bytes=cap)
        contents = read_bundle_archive(data, cap)
    except blobs.BlobError as exc:
        _fail(state, _failure_code(exc), str(exc))
        return
    except Exception:
        log.exception("materializing snapshot state %s failed", state.id)
        _fail(state, "internal_error", "Materializing the snapshot failed unexpectedly")
        return
    store = blobs.store()
    files = [
        {"name": name, "digest": store.put(data), "size": len(data)}
        for name, data in sorted(contents.items())
    ]
    now = clock.now()
    with write():
        profile = (
            bundles.locked(
                Profile.select()
                .join(App)
                .where(
                    (Profile.id == state.profile_id)
                    & Profile.deleted_at.is_null()
                    & App.deleted_at.is_null()
                )
            )
        ).first()
        if profile is None:
            return
        done = (
            State.update(
                status="ready",
                files=files,
                total_size=sum(f["size"] for f in files),
                snapshot_url=None,
                updated_at=now,
            )
            .where((State.pk == state.pk) & (State.status == "materializing"))
            .execute()
        )
        if done:
            Profile.update(head_state_id=state.id, updated_at=now).where(
                Profile.id == profile.id
            ).execute()
    log.info("snapshot state %s materialized: %d files", state.id, len(files))


def _failure_code(exc: blobs.BlobError) -> str:
    if isinstance(exc, blobs.TooLargeError):
        return "archive_too_large"
    if isinstance(exc, blobs.ArchiveError):
        return "invalid_archive"
    if isinstance(exc, blobs.RefusedURLError):
        return "fetch_failed"
    if isinstance(exc, blobs.BlobNotFoundError):
        return "archive_not_found"
    return "invalid_archive"


def _fail(state: State, code: str, message: str) -> None:
    with write():
        State.update(
            status="failed",
            failure={"code": code, "message": message[:1000]},
            snapshot_url=None,
            updated_at=clock.now(),
        ).where((State.pk == state.pk) & (State.status == "materializing")).execute()
    log.info("snapshot state %s failed: %s", state.id, code)


# --- archives ---------------------------------------------------------------------------------


def read_bundle_archive(data: bytes, max_total_bytes: int) -> dict[str, bytes]:
    """The files of a zip or a gzip-compressed tar, `{name: bytes}`; `ArchiveError` (unsafe or
    unreadable) or `TooLargeError` otherwise."""
    if data[:2] == b"\x1f\x8b":
        return read_tar_gz(data, max_total_bytes)
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        try:
            return blobs.read_archive(data, max_total_bytes=max_total_bytes)
        except blobs.ArchiveError as exc:
            if "bytes uncompressed" in str(exc):
                raise blobs.TooLargeError(str(exc)) from None
            raise
    raise blobs.ArchiveError("the snapshot is neither a zip nor a gzip-compressed tar archive")


def read_tar_gz(data: bytes, max_total_bytes: int) -> dict[str, bytes]:
    """The regular files of a .tar.gz, with `read_archive`'s rules: safe relative names
    (a leading `./` is dropped; no NUL), no links or devices, no duplicates, at most
    `max_files` files and `max_total_bytes` of contents, decompressed while counting.

    The archive must read cleanly to its end, or it is refused as a whole (`ArchiveError`):
    every gzip member intact (its CRC and length checked) with nothing but zero padding after
    the last; inside, every header block with a valid checksum, every member's data complete
    and padded to a 512-byte block, then the end-of-archive marker (two zero blocks) and only
    zero bytes after it. A damaged header therefore never silently ends the archive early.
    """
    max_files = blobs.config().max_files
    allowance = max_total_bytes + (2 * max_files + 2) * TAR_HEADER_ALLOWANCE
    with tempfile.SpooledTemporaryFile(
        max_size=TAR_SPOOL_MEMORY,
        dir=cast(str | None, blobs.store().spool_dir()),  # a Path works
    ) as tar:
        _gunzip(data, tar, allowance)
        size = tar.tell()
        tar.seek(0)
        out, directories, end = _read_tar(tar, max_total_bytes, max_files)
        _check_tar_end(tar, end, size)
    try:
        blobs.check_names(out, max_files=max_files)
    except blobs.ManifestError as exc:
        raise blobs.ArchiveError(str(exc)) from None
    clash = directories.intersection(out)
    if clash:
        raise blobs.ArchiveError(f"{sorted(clash)[0]!r} is both a file and a directory")
    return dict(sorted(out.items()))


def _gunzip(data: bytes, sink: IO[bytes], limit: int) -> None:
    """Decompress all of `data` into `sink`, at most `limit` bytes (`TooLargeError`: gzip
    bombs); `ArchiveError` unless every gzip member is intact and only zeros follow."""
    written = 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(GUNZIP_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise blobs.TooLargeError(f"the archive holds more than {limit} bytes")
                sink.write(chunk)
    except blobs.BlobError:
        raise
    except (OSError, EOFError, ValueError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise blobs.ArchiveError(f"not a readable gzip stream: {exc}") from None


def _read_tar(
    tar: IO[bytes], max_total_bytes: int, max_files: int
) -> tuple[dict[str, bytes], set[str], int]:
    """(files, directory names, offset where reading stopped) of the tar in `tar`."""
    out: dict[str, bytes] = {}
    directories: set[str] = set()
    total = members = 0
    try:
        with tarfile.open(fileobj=tar, mode="r:", tarinfo=_StrictTarInfo) as archive:
            for member in archive:
                members += 1
                if members > 2 * max_files:
                    raise blobs.ArchiveError(f"more than {max_files} files")
                name = member.name
                while name.startswith("./"):
                    name = name[2:]
                name = name.rstrip("/") if member.isdir() else name
                if member.isdir():
                    if name not in ("", "."):
                        directories.add(_checked(name))
                    continue
                if not member.isreg() or member.issparse():
                    raise blobs.ArchiveError(f"{member.name!r} is not a regular file")
                _checked(name)
                if name in out:
                    raise blobs.ArchiveError(f"duplicate file name {name!r}")
                total += member.size
                if total > max_total_bytes:
                    raise blobs.TooLargeError(f"more than {max_total_bytes} bytes uncompressed")
                handle = archive.extractfile(member)
                out[name] = handle.read() if handle is not None else b""
            end = archive.offset  # where tarfile stopped: the end marker, or what it could not read
    except blobs.BlobError:
        raise
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        raise blobs.ArchiveError(f"not a readable tar archive: {exc}") from None
    return out, directories, end


def _check_tar_end(tar: IO[bytes], end: int, size: int) -> None:
    """`ArchiveError` unless the tar ends at `end` with its end-of-archive marker (two zero
    blocks) followed by zeros only. tarfile stops quietly at a header it cannot read (a bad
    checksum, or a member not padded to 512 bytes), as if the archive ended there."""
    tar.seek(end)
    first = tar.read(tarfile.BLOCKSIZE)
    if first.strip(b"\0"):
        raise blobs.ArchiveError(
            f"damaged tar archive: the header at byte {end} does not read (a bad checksum, "
            "or the member before it is not padded to a 512-byte block)"
        )
    if size - end < 2 * tarfile.BLOCKSIZE:
        raise blobs.ArchiveError(
            "damaged tar archive: it ends without the end-of-archive marker (truncated?)"
        )
    while chunk := tar.read(GUNZIP_CHUNK):
        if chunk.strip(b"\0"):
            raise blobs.ArchiveError(
                "damaged tar archive: it has data after its end-of-archive marker"
            )


_POSIX_MAGIC = b"ustar\x00"


def _nul_terminated(field: bytes | bytearray) -> bool:
    """Whether a NUL-terminated header field holds nothing but NULs after its first NUL."""
    end = field.find(b"\0")
    return end < 0 or not field[end:].strip(b"\0")


class _StrictTarInfo(tarfile.TarInfo):
    """tarfile cuts names at the first NUL: a header whose name, link name or ustar prefix
    (or GNU long name) holds more after a NUL would be read under a name it does not have."""

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Self:
        info = super().frombuf(buf, encoding, errors)  # checks the checksum first
        fields = [buf[0:100], buf[157:257]]
        if buf[257:263] == _POSIX_MAGIC:
            fields.append(buf[345:500])
        if not all(_nul_terminated(field) for field in fields):
            raise blobs.ArchiveError("unsafe entry name: a tar header's name holds NUL")
        return info

    def _proc_gnulong(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
        at = archive.fileobj.tell()  # a seekable file (`read_tar_gz` spools the tar)
        raw = archive.fileobj.read(self.size)
        archive.fileobj.seek(at)
        if not _nul_terminated(raw):
            raise blobs.ArchiveError("unsafe entry name: a GNU long name holds NUL")
        return super()._proc_gnulong(archive)  # type: ignore[misc]  # private, not in typeshed


def _checked(name: str) -> str:
    try:
        return blobs.check_name(name)
    except blobs.ManifestError as exc:
        raise blobs.ArchiveError(f"unsafe entry name: {exc}") from None
