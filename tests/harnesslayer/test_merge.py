"""Version sync strategies and the three-way merge (agentyard.harnesslayer.merge); pure, fast."""

from __future__ import annotations

import hashlib

import pytest

from agentyard.harnesslayer.merge import (
    Conflict,
    content_digest,
    is_binary,
    merge_text,
    sync,
)

D = content_digest

BASE = b"line 1\nline 2\nline 3\nline 4\nline 5\n"
OURS = b"line 1\nline 2 (profile)\nline 3\nline 4\nline 5\n"  # edits line 2
THEIRS = b"line 1\nline 2 (app v2)\nline 3\nline 4\nline 5\n"  # edits line 2 differently
THEIRS_FAR = b"line 1\nline 2\nline 3\nline 4\nline 5 (app v2)\n"  # edits line 5


def test_incoming_takes_the_head_version():
    base = {"a": b"1", "b": b"2", "c": b"3"}
    current = {"a": b"1", "b": b"2 edited", "d": b"profile"}
    incoming = {"a": b"1", "b": b"2", "c": b"3 v2", "e": b"app"}
    r = sync("incoming", base, current, incoming)
    assert r.files == incoming
    assert list(r.files) == sorted(incoming)
    assert r.conflicts == []
    assert r.changed and r.advances_base
    # a unchanged; b, c, d (deleted), e taken
    assert r.counts == {
        "taken_incoming": 4,
        "kept_current": 0,
        "merged": 0,
        "unchanged": 1,
        "conflicts": 0,
    }


def test_incoming_when_already_equal_is_not_a_change():
    files = {"a": b"1"}
    r = sync("incoming", {}, files, dict(files))
    assert not r.changed and r.unchanged == 1


def test_current_keeps_the_profile_files_and_advances_the_base():
    base = {"a": b"1", "b": b"2"}
    current = {"a": b"1 profile", "b": b"2"}
    incoming = {"a": b"1", "b": b"2 v2", "c": b"new"}
    r = sync("current", base, current, incoming)
    assert r.files == current
    assert not r.changed
    assert r.advances_base
    assert r.conflicts == []
    assert (r.kept_current, r.taken_incoming, r.unchanged) == (3, 0, 0)


def test_manual_lists_every_divergence_and_leaves_the_state():
    base = {"same": b"s", "mod": b"m", "cur_del": b"x", "inc_del": b"y", "both_del": b"z"}
    current = {"same": b"s", "mod": b"m profile", "inc_del": b"y", "cur_add": b"p"}
    incoming = {"same": b"s", "mod": b"m v2", "cur_del": b"x", "inc_add": b"q"}
    r = sync("manual", base, current, incoming)
    assert r.files == current
    assert not r.changed
    assert not r.advances_base
    assert r.conflicts == [
        Conflict("cur_add", "divergent", None, D(b"p"), None),
        Conflict("cur_del", "divergent", D(b"x"), None, D(b"x")),
        Conflict("inc_add", "divergent", None, None, D(b"q")),
        Conflict("inc_del", "divergent", D(b"y"), D(b"y"), None),
        Conflict("mod", "divergent", D(b"m"), D(b"m profile"), D(b"m v2")),
    ]
    assert r.unchanged == 2  # "same" and "both_del"


def test_manual_with_no_divergence_has_no_conflicts():
    r = sync("manual", {"a": b"1"}, {"a": b"2"}, {"a": b"2"})
    assert r.conflicts == [] and not r.changed


@pytest.mark.parametrize("strategy", ["", "theirs", "SMART", "merge"])
def test_unknown_strategy(strategy):
    with pytest.raises(ValueError, match="unknown sync strategy"):
        sync(strategy, {}, {}, {})


# Smart: every add/delete/modify combination of one path. B = base content, X and Y two
# different edits of the same line (so X vs Y cannot line-merge); None = absent.
B, X, Y = BASE, OURS, THEIRS

SMART_CASES = [
    # base, current, incoming, expected file, outcome
    (B, B, B, B, "unchanged"),
    (B, X, B, X, "kept_current"),  # modified on the profile only
    (B, B, X, X, "taken_incoming"),  # modified in the version only
    (B, X, X, X, "unchanged"),  # modified identically on both sides
    (B, None, B, None, "kept_current"),  # deleted on the profile, unchanged in the version
    (B, B, None, None, "taken_incoming"),  # deleted in the version, unchanged on the profile
    (B, None, None, None, "unchanged"),  # deleted on both sides
    (B, None, X, None, "modify_delete"),  # deleted on the profile, modified in the version
    (B, X, None, X, "modify_delete"),  # modified on the profile, deleted in the version
    (None, X, None, X, "kept_current"),  # added on the profile
    (None, None, X, X, "taken_incoming"),  # added in the version
    (None, X, X, X, "unchanged"),  # added identically on both sides
    (None, X, Y, X, "add_add"),  # added differently on both sides
    (B, X, Y, X, "both_modified"),  # same line changed differently
    (B, X, THEIRS_FAR, b"line 1\nline 2 (profile)\nline 3\nline 4\nline 5 (app v2)\n", "merged"),
]


def _one(content: bytes | None) -> dict[str, bytes]:
    return {} if content is None else {"f.txt": content}


def _dig(content: bytes | None) -> str | None:
    return None if content is None else D(content)


@pytest.mark.parametrize(("b", "c", "i", "expected", "outcome"), SMART_CASES)
def test_smart_combinations(b, c, i, expected, outcome):
    r = sync("smart", _one(b), _one(c), _one(i))
    assert r.files == _one(expected)
    assert r.changed == (_one(expected) != _one(c))
    assert r.advances_base
    if outcome in ("unchanged", "kept_current", "taken_incoming", "merged"):
        assert r.conflicts == []
        assert r.counts[outcome] == 1
        assert sum(r.counts.values()) == 1
    else:
        assert r.conflicts == [Conflict("f.txt", outcome, _dig(b), _dig(c), _dig(i))]
        assert sum(r.counts.values()) == 1


def test_smart_three_way_conflict_on_the_same_lines_keeps_the_profile_version():
    base = {"prompt.md": BASE, "other.md": b"o\n"}
    current = {"prompt.md": OURS, "other.md": b"o\n"}
    incoming = {"prompt.md": THEIRS, "other.md": b"o v2\n"}
    r = sync("smart", base, current, incoming)
    assert r.files == {"other.md": b"o v2\n", "prompt.md": OURS}
    assert r.conflicts == [Conflict("prompt.md", "both_modified", D(BASE), D(OURS), D(THEIRS))]
    assert r.changed and r.taken_incoming == 1 and r.merged == 0


def test_smart_merges_non_overlapping_line_edits_exactly():
    base = b"# Agent\n\nmodel: small\ntemperature: 0.2\n\ntools:\n  - search\n  - fetch\n"
    # The profile changes the model and appends a tool; the version changes the title and
    # drops a tool in between; a blank or unchanged line separates every edit.
    current = (
        b"# Agent\n\nmodel: large\ntemperature: 0.2\n\ntools:\n  - search\n  - fetch\n  - calc\n"
    )
    incoming = b"# Agent v2\n\nmodel: small\ntemperature: 0.2\n\ntools:\n  - fetch\n"
    r = sync("smart", {"a.yaml": base}, {"a.yaml": current}, {"a.yaml": incoming})
    assert r.conflicts == []
    assert r.merged == 1
    assert r.files["a.yaml"] == (
        b"# Agent v2\n\nmodel: large\ntemperature: 0.2\n\ntools:\n  - fetch\n  - calc\n"
    )


def test_merge_preserves_crlf_and_a_missing_final_newline():
    base = b"a\r\nb\r\nc\r\nd\r\ne"
    current = b"A\r\nb\r\nc\r\nd\r\ne"
    incoming = b"a\r\nb\r\nc\r\nd\r\nE"
    assert merge_text(base, current, incoming) == b"A\r\nb\r\nc\r\nd\r\nE"
    # Adding the final newline on one side is an edit of the last line like any other.
    assert merge_text(base, current, b"a\r\nb\r\nc\r\nd\r\ne\n") == b"A\r\nb\r\nc\r\nd\r\ne\n"


def test_merge_insertions_and_deletions():
    base = b"1\n2\n3\n4\n5\n6\n"
    assert merge_text(base, b"0\n1\n2\n3\n4\n5\n6\n", b"1\n2\n3\n4\n5\n6\n7\n") == (
        b"0\n1\n2\n3\n4\n5\n6\n7\n"
    )
    assert merge_text(base, b"1\n3\n4\n5\n6\n", b"1\n2\n3\n4\n6\n") == b"1\n3\n4\n6\n"
    assert merge_text(base, base, base) == base
    assert merge_text(b"", b"x\n", b"") == b"x\n"


def test_merge_conflicts_when_hunks_overlap_or_touch():
    base = b"1\n2\n3\n4\n"
    assert merge_text(base, b"1\nTWO\n3\n4\n", b"1\nzwei\n3\n4\n") is None  # same line
    assert merge_text(base, b"1\nTWO\n3\n4\n", b"1\n2\nTHREE\n4\n") is None  # adjacent lines
    assert merge_text(base, b"1\n2\na\n3\n4\n", b"1\n2\nb\n3\n4\n") is None  # same insertion point
    assert merge_text(base, b"1\n4\n", b"1\n2\nTHREE\n4\n") is None  # delete spans the edit


def test_smart_identical_changes_on_both_sides_do_not_conflict():
    # Whole-file identical change.
    r = sync("smart", {"f": BASE}, {"f": OURS}, {"f": OURS})
    assert r.conflicts == [] and r.files == {"f": OURS} and r.unchanged == 1 and not r.changed
    # The same hunk on both sides plus a non-overlapping edit on one side.
    both_fix = b"line 1\nline 2 fixed\nline 3\nline 4\nline 5\n"
    plus_more = b"line 1\nline 2 fixed\nline 3\nline 4\nline 5 more\n"
    r = sync("smart", {"f": BASE}, {"f": both_fix}, {"f": plus_more})
    assert r.conflicts == [] and r.files == {"f": plus_more} and r.merged == 1


@pytest.mark.parametrize(
    ("base", "current", "incoming"),
    [
        (b"\x89PNG\x00\x01", b"\x89PNG\x00\x02", b"\x89PNG\x00\x03"),  # NUL bytes
        (b"caf\xe9\n", b"caf\xe9 au lait\n", b"le caf\xe9\n"),  # Latin-1, not UTF-8
        (b"text\n", b"text\nmore\n", b"\xff\xfe\n"),  # text turned binary on one side
    ],
)
def test_smart_binary_files_conflict(base, current, incoming):
    r = sync("smart", {"img": base}, {"img": current}, {"img": incoming})
    assert r.conflicts == [Conflict("img", "binary", D(base), D(current), D(incoming))]
    assert r.files == {"img": current}
    assert not r.changed


def test_smart_binary_changed_on_one_side_only_is_taken():
    r = sync("smart", {"img": b"\x00a"}, {"img": b"\x00a"}, {"img": b"\x00b"})
    assert r.files == {"img": b"\x00b"} and r.conflicts == [] and r.taken_incoming == 1


def test_is_binary():
    assert not is_binary(b"")
    assert not is_binary("héllo ✓\n".encode())
    assert is_binary(b"a\x00b")
    assert is_binary(b"\xc3")


def _mixed_inputs() -> tuple[dict[str, bytes], dict[str, bytes], dict[str, bytes]]:
    base = {"z.md": BASE, "m.md": BASE, "a.md": BASE, "k.bin": b"\x00", "gone": b"g"}
    current = {"z.md": OURS, "m.md": OURS, "a.md": b"A\n", "k.bin": b"\x00c", "p": b"p1"}
    incoming = {"z.md": THEIRS, "m.md": THEIRS_FAR, "k.bin": b"\x00i", "p": b"p2", "gone": b"g"}
    return base, current, incoming


@pytest.mark.parametrize("strategy", ["incoming", "current", "smart", "manual"])
def test_deterministic_and_sorted(strategy):
    base, current, incoming = _mixed_inputs()
    first = sync(strategy, base, current, incoming)
    second = sync(strategy, *(dict(reversed(list(m.items()))) for m in (base, current, incoming)))
    assert first == second
    assert list(first.files) == list(second.files) == sorted(first.files)
    paths = [c.path for c in first.conflicts]
    assert paths == sorted(paths)
    assert sum(first.counts.values()) == len(base.keys() | current.keys() | incoming.keys())


def test_smart_mixed_conflict_kinds():
    base, current, incoming = _mixed_inputs()
    r = sync("smart", base, current, incoming)
    assert [(c.path, c.kind) for c in r.conflicts] == [
        ("a.md", "modify_delete"),
        ("k.bin", "binary"),
        ("p", "add_add"),
        ("z.md", "both_modified"),
    ]
    assert r.files["m.md"] == b"line 1\nline 2 (profile)\nline 3\nline 4\nline 5 (app v2)\n"
    assert "gone" not in r.files  # deleted on the profile, unchanged in the version
    assert r.counts["merged"] == 1


class CountingLoader:
    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = blobs
        self.calls: list[str] = []

    def __call__(self, digest: str) -> bytes:
        self.calls.append(digest)
        return self.blobs[digest]


def test_digest_mode_loads_only_paths_changed_on_both_sides():
    blobs: dict[str, bytes] = {}

    def put(data: bytes) -> str:
        blobs[D(data)] = data
        return D(data)

    base = {f"files/{n:03}.txt": put(f"file {n}\nline b\nline c\n".encode()) for n in range(200)}
    current, incoming = dict(base), dict(base)
    incoming["files/010.txt"] = put(b"file 10 v2\nline b\nline c\n")  # version only
    current["files/020.txt"] = put(b"file 20\nline b\nline c profile\n")  # profile only
    current["files/030.txt"] = put(b"file 30 profile\nline b\nline c\n")  # both sides,
    incoming["files/030.txt"] = put(b"file 30\nline b\nline c v2\n")  # non-overlapping
    load = CountingLoader(blobs)

    r = sync("smart", base, current, incoming, load=load)

    assert sorted(load.calls) == sorted(
        [base["files/030.txt"], current["files/030.txt"], incoming["files/030.txt"]]
    )
    merged = b"file 30 profile\nline b\nline c v2\n"
    assert r.files["files/030.txt"] == D(merged)
    assert r.blobs == {D(merged): merged}
    assert r.files["files/010.txt"] == incoming["files/010.txt"]
    assert r.files["files/020.txt"] == current["files/020.txt"]
    assert r.counts == {
        "taken_incoming": 1,
        "kept_current": 1,
        "merged": 1,
        "unchanged": 197,
        "conflicts": 0,
    }
    assert r.changed and len(r.files) == 200

    # The other strategies never load anything.
    for strategy in ("incoming", "current", "manual"):
        load.calls.clear()
        sync(strategy, base, current, incoming, load=load)
        assert load.calls == []


def test_digest_mode_with_a_custom_digest():
    def digest(data: bytes) -> str:
        return "sha256:" + hashlib.sha256(data).hexdigest()

    blobs = {digest(v): v for v in (BASE, OURS, THEIRS_FAR)}
    r = sync(
        "smart",
        {"f": digest(BASE)},
        {"f": digest(OURS)},
        {"f": digest(THEIRS_FAR)},
        load=blobs.__getitem__,
        digest=digest,
    )
    (merged_digest,) = r.blobs
    assert r.files == {"f": merged_digest}
    assert merged_digest == digest(r.blobs[merged_digest])
    assert r.blobs[merged_digest] == b"line 1\nline 2 (profile)\nline 3\nline 4\nline 5 (app v2)\n"


def test_bytes_mode_has_no_blobs():
    r = sync("smart", {"f": BASE}, {"f": OURS}, {"f": THEIRS_FAR})
    assert r.blobs == {} and r.merged == 1
