"""Zip archives of blobs: `build_archive({name: digest})` is deterministic (sorted names,
fixed timestamps and modes, deflate level 6: identical bytes for identical input on one zlib
build); `read_archive(data)` returns `{name: bytes}` and refuses unsafe or damaged archives."""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Mapping

from agentyard.core.blobs.configuration import config
from agentyard.core.blobs.errors import ArchiveError, ManifestError, TooLargeError
from agentyard.core.blobs.storage import BlobStore, check_digest
from agentyard.core.blobs.uploads import check_name, check_names

ARCHIVE_DATE = (1980, 1, 1, 0, 0, 0)
ARCHIVE_LEVEL = 6


def build_archive(files: Mapping[str, str], *, blob_store: BlobStore | None = None) -> bytes:
    """A deterministic zip of exactly `files` (`{name: digest}`), names sorted.

    Entries are regular files, mode 0644, dated 1980-01-01, deflated at level 6. Raises
    `ManifestError` for bad names, `BlobNotFoundError`, `TooLargeError` over `max_archive_bytes`.
    """
    cfg = config()
    source = blob_store or cfg.store
    names = check_names(files, max_files=cfg.max_files)
    total = sum(source.size(check_digest(files[name])) for name in names)
    if total > cfg.max_archive_bytes:
        raise TooLargeError(f"the files hold more than {cfg.max_archive_bytes} bytes")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=ARCHIVE_DATE)
            info.create_system = 3  # unix, so the mode below is honoured
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.get(files[name]), compresslevel=ARCHIVE_LEVEL)
    return buffer.getvalue()


def read_archive(
    data: bytes, *, max_total_bytes: int | None = None, max_files: int | None = None
) -> dict[str, bytes]:
    """The files of a zip, `{name: bytes}` sorted by name; `ArchiveError` when unsafe or
    damaged (the archive is refused as a whole, never read in part).

    Directory entries are checked and skipped. Refused: names failing `check_name` or holding
    NUL (which zipfile would silently cut the name at), duplicates, a name that is also a
    directory, symlinks and other non-regular entries, encrypted entries, more than
    `max_files` files, more than `max_total_bytes` uncompressed (counted while inflating,
    whatever the headers claim), CRC errors, and an archive that does not read cleanly from
    its first byte to its last: it must start with its first entry (or, empty, with its end
    record) and end with its end-of-central-directory record and that record's comment.
    """
    cfg = config()
    cap = cfg.max_archive_bytes if max_total_bytes is None else max_total_bytes
    limit = cfg.max_files if max_files is None else max_files
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:  # BadZipFile, and whatever else crafted bytes provoke
        raise ArchiveError(f"not a readable zip archive: {exc}") from None
    with archive:
        _check_zip_bounds(data)
        infos = archive.infolist()
        if len(infos) > 2 * limit:
            raise ArchiveError(f"more than {limit} files")
        members: list[zipfile.ZipInfo] = []
        names: list[str] = []
        directories: set[str] = set()
        for info in infos:
            mode = info.external_attr >> 16  # unix mode, when made on unix
            if "\x00" in info.orig_filename:
                raise ArchiveError(f"unsafe entry name {info.orig_filename!r}: it holds NUL")
            try:
                if info.filename.endswith("/"):
                    directories.add(check_name(info.filename[:-1]))
                    continue
                check_name(info.filename)
            except ManifestError as exc:
                raise ArchiveError(f"unsafe entry name: {exc}") from None
            if info.create_system == 3 and stat.S_IFMT(mode) not in (0, stat.S_IFREG):
                raise ArchiveError(f"{info.filename!r} is not a regular file")
            if info.flag_bits & 0x1:
                raise ArchiveError(f"{info.filename!r} is encrypted")
            members.append(info)
            names.append(info.filename)
        try:
            check_names(names, max_files=limit)
        except ManifestError as exc:
            raise ArchiveError(str(exc)) from None
        clash = directories.intersection(names)
        if clash:
            raise ArchiveError(f"{sorted(clash)[0]!r} is both a file and a directory")
        if sum(info.file_size for info in members) > cap:
            raise ArchiveError(f"more than {cap} bytes uncompressed")
        total = 0
        out: dict[str, bytes] = {}
        for info in sorted(members, key=lambda i: i.filename):
            chunks: list[bytes] = []
            try:
                with archive.open(info) as member:
                    while chunk := member.read(65536):
                        total += len(chunk)
                        if total > cap:
                            raise ArchiveError(f"more than {cap} bytes uncompressed")
                        chunks.append(chunk)
            except ArchiveError:
                raise
            except Exception as exc:  # BadZipFile (CRC), zlib.error, unsupported methods
                raise ArchiveError(f"cannot read {info.filename!r}: {exc}") from None
            out[info.filename] = b"".join(chunks)
    return out


_ZIP_END = b"PK\x05\x06"  # the end-of-central-directory record: 22 bytes, then its comment
_ZIP_END_SIZE = 22
_ZIP_STARTS = (b"PK\x03\x04", _ZIP_END)  # a first entry, or the end record of an empty zip


def _check_zip_bounds(data: bytes) -> None:
    """`ArchiveError` unless the zip spans `data` exactly: no bytes before its first entry
    (zipfile would skip them) nor after its end record's comment (zipfile ignores them)."""
    if data[:4] not in _ZIP_STARTS:
        raise ArchiveError("the zip archive does not start with its first entry")
    at = data.rfind(_ZIP_END, max(0, len(data) - _ZIP_END_SIZE - 0xFFFF))
    if at < 0 or len(data) < at + _ZIP_END_SIZE:
        raise ArchiveError("not a readable zip archive: no end-of-central-directory record")
    comment = int.from_bytes(data[at + 20 : at + _ZIP_END_SIZE], "little")
    if at + _ZIP_END_SIZE + comment != len(data):
        raise ArchiveError("the zip archive has bytes after the end of its central directory")
