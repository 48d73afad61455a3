"""Version sync: bring an app's head version into a profile's state, file by file.

Pure functions, no I/O. A bundle is a file map, path -> content. ``sync()`` takes three of
them: ``base`` (the version the state came from, the merge base), ``current`` (the profile's
state) and ``incoming`` (the head version), either as path -> bytes, or as path -> digest plus
``load(digest) -> bytes``. Files are compared by digest; bytes are loaded only for paths that
changed differently on both sides (three loads each: base, current, incoming), so syncing a
200-file bundle where few files changed costs almost nothing.

Strategies:

- ``incoming``: the new state is the head version's files.
- ``current``: the state keeps the profile's files (``changed`` is False).
- ``smart``: a three-way merge per file against ``base``. Changed on one side only (including
  added or deleted) -> that side; changed identically on both sides -> that. Changed
  differently on both sides -> text files get a line-level three-way merge (diff3: hunks of
  base->current and base->incoming apply when they neither overlap nor touch; identical hunks
  are fine); overlapping or touching hunks, binary files (a NUL byte or not UTF-8), add/add
  and modify/delete -> a ``Conflict``, and the state keeps the profile's version of that path
  (the profile's content, or its absence if the profile deleted it). No conflict markers are
  ever written into files.
- ``manual``: every path whose content differs between the state and the head version
  (including adds and deletes) is a ``divergent`` conflict; the state is unchanged.

The state's base afterwards (``SyncResult.advances_base``): ``incoming``, ``current`` and
``smart`` (conflicts included: the conflicted paths are resolved in the profile's favour) mean
the state now derives from the head version, so the caller records the head version as the
state's base and the next sync diffs against it; with ``current`` the profile's divergences are
then the profile's own changes and are not offered again. ``manual`` changes nothing, so the
base stays where it was and the next sync sees the same divergences.

Every path in base | current | incoming is counted exactly once in the result: in
``unchanged`` (the state already had the head's content there, including identical changes
on both sides and paths deleted on both sides), ``taken_incoming``, ``kept_current``,
``merged`` or ``conflicts``.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar, cast, overload

__all__ = [
    "CONFLICT_KINDS",
    "STRATEGIES",
    "Conflict",
    "ConflictKind",
    "Strategy",
    "SyncResult",
    "content_digest",
    "is_binary",
    "merge_text",
    "sync",
]

Strategy = Literal["incoming", "current", "smart", "manual"]
STRATEGIES: tuple[Strategy, ...] = ("incoming", "current", "smart", "manual")

ConflictKind = Literal["both_modified", "modify_delete", "add_add", "binary", "divergent"]
CONFLICT_KINDS: tuple[ConflictKind, ...] = (
    "both_modified",
    "modify_delete",
    "add_add",
    "binary",
    "divergent",
)

V = TypeVar("V", bytes, str)


def content_digest(data: bytes) -> str:
    """The default content digest: lowercase SHA-256 hex."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Conflict:
    """A path the sync could not settle; digests are None where the file is absent."""

    path: str
    kind: ConflictKind
    base: str | None
    current: str | None
    incoming: str | None


@dataclass(frozen=True)
class SyncResult(Generic[V]):
    """The outcome of one sync.

    ``files`` is the new state, sorted by path, with values of the input's kind (bytes, or
    digests when a loader was given). In digest mode ``blobs`` holds digest -> bytes for
    content the merge created (in none of the inputs), which the caller must store; in bytes
    mode it is empty. ``conflicts`` are sorted by path.
    """

    strategy: Strategy
    files: dict[str, V]
    conflicts: list[Conflict]
    changed: bool
    advances_base: bool
    taken_incoming: int = 0
    kept_current: int = 0
    merged: int = 0
    unchanged: int = 0
    blobs: dict[str, bytes] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        """The per-path tallies, for reporting."""
        return {
            "taken_incoming": self.taken_incoming,
            "kept_current": self.kept_current,
            "merged": self.merged,
            "unchanged": self.unchanged,
            "conflicts": len(self.conflicts),
        }


# --- line merge --------------------------------------------------------------------------


def is_binary(data: bytes) -> bool:
    """True when ``data`` is not line-mergeable text: it has a NUL byte or is not UTF-8."""
    if b"\x00" in data:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _lines(data: bytes) -> list[bytes]:
    """Split on LF only, keeping each line's ending (so CRLF and a missing final LF survive)."""
    parts = data.split(b"\n")
    lines = [p + b"\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


@dataclass(frozen=True)
class _Hunk:
    start: int  # base lines [start, end) are replaced by `lines`
    end: int
    lines: tuple[bytes, ...]
    side: int  # 0 = current, 1 = incoming


def _hunks(base: list[bytes], other: list[bytes], side: int) -> list[_Hunk]:
    matcher = difflib.SequenceMatcher(None, base, other, autojunk=False)
    return [
        _Hunk(i1, i2, tuple(other[j1:j2]), side)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def _apply(base: list[bytes], start: int, end: int, hunks: Sequence[_Hunk]) -> list[bytes]:
    """Base lines [start, end) with ``hunks`` (sorted, inside that range) applied."""
    out: list[bytes] = []
    pos = start
    for h in hunks:
        out.extend(base[pos : h.start])
        out.extend(h.lines)
        pos = h.end
    out.extend(base[pos:end])
    return out


def merge_text(base: bytes, current: bytes, incoming: bytes) -> bytes | None:
    """Line-level three-way merge (diff3); None when the two sides' hunks conflict.

    Hunks of base->current and base->incoming that overlap or touch (no unchanged base line
    between them, e.g. two insertions at the same place) form one region; the region merges
    only if both sides produce the same lines there. Line endings and the presence or absence
    of a final newline are preserved line by line.
    """
    b = _lines(base)
    hunks = sorted(
        _hunks(b, _lines(current), 0) + _hunks(b, _lines(incoming), 1),
        key=lambda h: (h.start, h.end, h.side),
    )
    out: list[bytes] = []
    pos = 0
    k = 0
    while k < len(hunks):
        region = [hunks[k]]
        start, end = hunks[k].start, hunks[k].end
        k += 1
        while k < len(hunks) and hunks[k].start <= end:
            region.append(hunks[k])
            end = max(end, hunks[k].end)
            k += 1
        out.extend(b[pos:start])
        ours = [h for h in region if h.side == 0]
        theirs = [h for h in region if h.side == 1]
        if ours and theirs:
            merged = _apply(b, start, end, ours)
            if merged != _apply(b, start, end, theirs):
                return None
            out.extend(merged)
        else:
            out.extend(_apply(b, start, end, region))
        pos = end
    out.extend(b[pos:])
    return b"".join(out)


# --- sync --------------------------------------------------------------------------------


@overload
def sync(
    strategy: str,
    base: Mapping[str, bytes],
    current: Mapping[str, bytes],
    incoming: Mapping[str, bytes],
    *,
    load: None = None,
    digest: Callable[[bytes], str] = ...,
) -> SyncResult[bytes]: ...


@overload
def sync(
    strategy: str,
    base: Mapping[str, str],
    current: Mapping[str, str],
    incoming: Mapping[str, str],
    *,
    load: Callable[[str], bytes],
    digest: Callable[[bytes], str] = ...,
) -> SyncResult[str]: ...


def sync(
    strategy: str,
    base: Mapping[str, bytes] | Mapping[str, str],
    current: Mapping[str, bytes] | Mapping[str, str],
    incoming: Mapping[str, bytes] | Mapping[str, str],
    *,
    load: Callable[[str], bytes] | None = None,
    digest: Callable[[bytes], str] = content_digest,
) -> SyncResult[bytes] | SyncResult[str]:
    """Sync ``incoming`` (head version) into ``current`` (profile state) against ``base``.

    Without ``load`` the maps are path -> bytes and the result's ``files`` too. With ``load``
    they are path -> digest, ``load(digest)`` returns a file's bytes (called only for paths
    changed differently on both sides), and the result's ``files`` are digests, with merged
    content in ``blobs``. ``digest`` names content (conflict records, merged blobs); it must
    match the digests given in digest mode. Unknown ``strategy`` -> ValueError.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown sync strategy {strategy!r}; expected one of {STRATEGIES}")
    if load is not None:
        b, c, i = (cast("Mapping[str, str]", m) for m in (base, current, incoming))
        return _sync_digests(cast(Strategy, strategy), b, c, i, load, digest)

    # Bytes mode: name every file by digest, run the digest core, map digests back to bytes.
    store: dict[str, bytes] = {}

    def named(files: Mapping[str, bytes]) -> dict[str, str]:
        out = {}
        for path, data in files.items():
            d = digest(data)
            store[d] = data
            out[path] = d
        return out

    b, c, i = (named(cast("Mapping[str, bytes]", m)) for m in (base, current, incoming))
    res = _sync_digests(cast(Strategy, strategy), b, c, i, store.__getitem__, digest)
    store.update(res.blobs)
    return SyncResult(
        strategy=res.strategy,
        files={path: store[d] for path, d in res.files.items()},
        conflicts=res.conflicts,
        changed=res.changed,
        advances_base=res.advances_base,
        taken_incoming=res.taken_incoming,
        kept_current=res.kept_current,
        merged=res.merged,
        unchanged=res.unchanged,
    )


def _sync_digests(
    strategy: Strategy,
    base: Mapping[str, str],
    current: Mapping[str, str],
    incoming: Mapping[str, str],
    load: Callable[[str], bytes],
    digest: Callable[[bytes], str],
) -> SyncResult[str]:
    files: dict[str, str] = {}
    conflicts: list[Conflict] = []
    blobs: dict[str, bytes] = {}
    n = {"taken_incoming": 0, "kept_current": 0, "merged": 0, "unchanged": 0}

    def put(path: str, d: str | None) -> None:
        if d is not None:
            files[path] = d

    for path in sorted(base.keys() | current.keys() | incoming.keys()):
        b, c, i = base.get(path), current.get(path), incoming.get(path)
        if c == i:
            put(path, c)
            n["unchanged"] += 1
        elif strategy == "incoming":
            put(path, i)
            n["taken_incoming"] += 1
        elif strategy == "current":
            put(path, c)
            n["kept_current"] += 1
        elif strategy == "manual":
            put(path, c)
            conflicts.append(Conflict(path, "divergent", b, c, i))
        elif c == b:
            put(path, i)
            n["taken_incoming"] += 1
        elif i == b:
            put(path, c)
            n["kept_current"] += 1
        else:
            # Changed differently on both sides; the profile's version stays unless merged.
            put(path, c)
            kind: ConflictKind | None
            if b is None:
                kind = "add_add"
            elif c is None or i is None:
                kind = "modify_delete"
            else:
                kind = _merge_file(path, b, c, i, load, digest, files, blobs)
            if kind is None:
                n["merged"] += 1
            else:
                conflicts.append(Conflict(path, kind, b, c, i))

    return SyncResult(
        strategy=strategy,
        files=files,
        conflicts=conflicts,
        changed=files != dict(current),
        advances_base=strategy != "manual",
        blobs=blobs,
        **n,
    )


def _merge_file(
    path: str,
    b: str,
    c: str,
    i: str,
    load: Callable[[str], bytes],
    digest: Callable[[bytes], str],
    files: dict[str, str],
    blobs: dict[str, bytes],
) -> ConflictKind | None:
    """Line-merge one file into ``files``/``blobs``; the conflict kind, or None if merged."""
    base_data, cur_data, inc_data = load(b), load(c), load(i)
    if is_binary(base_data) or is_binary(cur_data) or is_binary(inc_data):
        return "binary"
    merged = merge_text(base_data, cur_data, inc_data)
    if merged is None:
        return "both_modified"
    d = digest(merged)
    files[path] = d
    if d not in (b, c, i):
        blobs[d] = merged
    return None
