"""Spec lint: no `pattern` in any spec admits a string holding U+0000 (NUL).

The served document gives every plain string the pattern `^[^\\u0000]*$`
(`agentyard.specs.document.NO_NUL_PATTERN`); a string with a pattern of its own keeps it, so
that pattern must exclude NUL itself, else NUL reaches a handler and a PostgreSQL text column.

`admits_nul` decides it from the parsed regex, conservatively (it may flag a pattern that a
lookahead makes safe; write an explicit class then): a pattern excludes NUL when it is anchored
at both ends (`^`/`\\A` ... `$`/`\\Z`, without MULTILINE) and none of the parts that consume
characters can consume U+0000. Schemas are matched with `re.search`, so an unanchored pattern
(`^https?://`) accepts anything after (or before) what it names, NUL included.
"""

from __future__ import annotations

import re
import re._constants as C  # noqa: N812  (the sre constants)
import re._parser as sre
from pathlib import Path
from typing import Any

import pytest

from agentyard.specs import document

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "specs").glob("*.yaml"))

_START = {C.AT_BEGINNING, C.AT_BEGINNING_STRING}
_END = {C.AT_END, C.AT_END_STRING}
_ZERO_WIDTH = {C.ASSERT, C.ASSERT_NOT}
# Categories that hold U+0000 (`\D`, `\S`, `\W`, in both their ASCII and Unicode forms).
_NUL_CATEGORIES = {
    C.CATEGORY_NOT_DIGIT,
    C.CATEGORY_NOT_SPACE,
    C.CATEGORY_NOT_WORD,
    C.CATEGORY_UNI_NOT_DIGIT,
    C.CATEGORY_UNI_NOT_SPACE,
    C.CATEGORY_UNI_NOT_WORD,
}


def _anchored(seq: Any, at: set[Any], reverse: bool) -> bool:
    """Whether every match of `seq` starts (ends, when `reverse`) at an anchor in `at`."""
    items = list(seq)
    for op, av in reversed(items) if reverse else items:
        if op is C.AT:
            return av in at
        if op is C.SUBPATTERN:
            return _anchored(av[-1], at, reverse)
        if op is C.ATOMIC_GROUP:
            return _anchored(av, at, reverse)
        if op is C.BRANCH:
            return all(_anchored(alt, at, reverse) for alt in av[1])
        if op in _ZERO_WIDTH:
            continue
        return False
    return False


def _item_holds_nul(op: Any, av: Any) -> bool:
    """Whether one item of a character class (a literal, a range, a category) holds NUL."""
    if op is C.LITERAL:
        return av == 0
    if op is C.RANGE:
        return av[0] <= 0 <= av[1]
    return op is C.CATEGORY and av in _NUL_CATEGORIES


def _class_holds_nul(items: list[tuple[Any, Any]]) -> bool:
    negate = bool(items) and items[0][0] is C.NEGATE
    held = any(_item_holds_nul(op, av) for op, av in (items[1:] if negate else items))
    return held != negate


def _consumes_nul(seq: Any) -> bool:
    """Whether any character-consuming part of `seq` can consume U+0000."""
    for op, av in seq:
        if op is C.LITERAL and av == 0:
            return True
        if op is C.NOT_LITERAL and av != 0:
            return True
        if op is C.ANY:
            return True
        if op is C.IN and _class_holds_nul(av):
            return True
        if op is C.CATEGORY and av in _NUL_CATEGORIES:
            return True
        if op is C.SUBPATTERN and _consumes_nul(av[-1]):
            return True
        if op is C.ATOMIC_GROUP and _consumes_nul(av):
            return True
        if op is C.BRANCH and any(_consumes_nul(alt) for alt in av[1]):
            return True
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and _consumes_nul(av[2]):
            return True
        if op is C.GROUPREF_EXISTS and any(_consumes_nul(b) for b in av[1:] if b is not None):
            return True
        # AT, ASSERT, ASSERT_NOT (zero-width) and GROUPREF (repeats a checked group) consume
        # nothing of their own.
    return False


def admits_nul(pattern: str) -> bool:
    """Whether some string holding U+0000 is matched by `pattern` (`re.search`), conservatively."""
    parsed = sre.parse(pattern)
    if parsed.state.flags & re.MULTILINE:
        return True
    anchored = _anchored(parsed, _START, False) and _anchored(parsed, _END, True)
    return not anchored or _consumes_nul(parsed)


def spec_patterns() -> list[Any]:
    found: dict[tuple[str, str], None] = {}
    for spec in SPECS:
        for schema in document.schemas_in(document.load(spec)):
            if isinstance(schema.get("pattern"), str):
                found.setdefault((spec.name, schema["pattern"]), None)
    return [pytest.param(s, p, id=f"{s}:{p}") for s, p in found]


@pytest.mark.parametrize(("spec_name", "pattern"), spec_patterns())
def test_no_spec_pattern_admits_nul(spec_name: str, pattern: str) -> None:
    assert not admits_nul(pattern), (
        f"{spec_name}: pattern {pattern!r} matches a string holding U+0000; anchor it (^...$) "
        "and keep NUL out of its classes (e.g. [^\\u0000...])"
    )


def test_the_served_default_pattern_excludes_nul() -> None:
    assert not admits_nul(document.NO_NUL_PATTERN)
    assert re.search(document.NO_NUL_PATTERN, "any text, even\nnew lines")
    assert not re.search(document.NO_NUL_PATTERN, "a\x00b")


@pytest.mark.parametrize(
    "pattern",
    [
        "^https?://",  # unanchored end
        "[a-z]+$",  # unanchored start
        "^.*$",  # . matches NUL
        "^[^a]+$",  # a negated class without NUL
        "^\\D+$",
        "^[\\W]$",
        "^[\\x00-\\x1f]$",
        "^(a|\\u0000)$",
        "^a$|b",  # one alternative unanchored
        "(?m)^a$",  # MULTILINE: ^ after a newline
        "^(?:[a-z]|[^b])+$",
        "^a{0,3}[\\S]$",
    ],
)
def test_admits_nul_flags(pattern: str) -> None:
    assert admits_nul(pattern)
    # Each flagged pattern really matches some string holding NUL, except where the analysis
    # is conservative by design; spot-check the plain ones.
    samples = ["\x00", "a\x00", "\x00a", "https://\x00", "a\x00b", "z\x00"]
    if pattern not in ("(?m)^a$",):
        assert any(re.search(pattern, s) for s in samples) or pattern.startswith("^a{")


@pytest.mark.parametrize(
    "pattern",
    [
        "^[A-Za-z0-9][A-Za-z0-9._-]*$",
        "^sess_[0-9A-HJKMNP-TV-Z]{26}$",
        "^ed25519:[A-Za-z0-9+/]+={0,2}$",
        "^[^/\\u0000-\\u001f\\u007f]+$",
        "^[^/\\\\\\u0000-\\u001f\\u007f]([^\\\\\\u0000-\\u001f\\u007f]*[^/\\\\\\u0000-\\u001f\\u007f])?$",
        "\\A\\d+\\Z",
        "^(\\*|[a-z]+(\\.[a-z]+)*(\\.\\*)?)$",
        "^(?=[a-z])[a-z0-9]{1,8}$",
        "^(?:a|b)$",
        "^a$|^b$",
    ],
)
def test_admits_nul_passes(pattern: str) -> None:
    assert not admits_nul(pattern)
    assert not any(re.search(pattern, s) for s in ("\x00", "a\x00", "\x00a", "ab\x00"))
