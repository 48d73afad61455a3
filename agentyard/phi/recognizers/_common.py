"""Regex building blocks shared by the custom recognizers.

Presidio compiles patterns with the third-party ``regex`` module (variable-length lookbehind,
scoped flags such as ``(?-i:...)``) and, by default, with IGNORECASE. A *keyed* pattern matches
its label and then ``\\K`` (``MRN: 00482913`` -> span ``00482913``), so the span is the value
alone and the label itself is what makes the match precise.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import regex
from presidio_analyzer import Pattern, PatternRecognizer

# Between a label and its value: punctuation and filler words ("MRN# is 123", "number: 123").
GAP = r"(?:[\x20\t:#=]|\b(?:is|was|of|number|no|num|nbr|id|identifier)\b\.?){0,8}"

_CHUNK = r"[A-Z0-9]+"
_DIGIT_CHUNK = r"[A-Z0-9]*[0-9][A-Z0-9]*"
_SPACED_CHUNK = r"(?=[A-Z0-9]{0,7}[0-9])[A-Z0-9]{1,8}(?![A-Z0-9/:])"

# An identifier: alphanumeric chunks joined by - . / (or a space before a digit-bearing chunk),
# with at least one digit, optionally behind an alphabetic prefix ("PT-5539012",
# "RX-ACCT-99812", "HAR 77120948", "YXW 4412 0988").
ID_VALUE = (
    r"(?<![A-Z0-9])"
    r"(?:[A-Z]{1,8}[-./])*"
    r"(?:(?-i:[A-Z]{1,5})\x20(?=[A-Z0-9]*[0-9]))?"
    rf"{_DIGIT_CHUNK}"
    rf"(?:[-./]{_CHUNK}|\x20{_SPACED_CHUNK})*"
)

# A bare identifier-looking token (weak: needs a context word to pass the threshold). Not a
# piece of a longer number ("(216) 555-0174") nor phone-shaped ("614-555-0199"), so that a
# context word ("MRN ... called from 614-555-0199") cannot turn a phone number into an id.
# The cheap assertions come first (a word start of 6-20 id characters), so that the
# lookbehind runs only there and not at every position of the text.
LOOSE_ID = (
    r"\b(?=[A-Z0-9-]{6,20}\b)(?<![0-9)][\x20.\-]?)"
    r"(?!(?:[0-9]{3}[\x20.\-])?[0-9]{3}[\x20.\-][0-9]{4}\b)"
    r"(?=(?:[A-Z-]*[0-9]){5})[A-Z0-9]+(?:-[A-Z0-9]+)*\b"
    r"(?![\x20.\-]?[0-9])"
)

KEYED_SCORE = 0.85
WEAK_SCORE = 0.1

# The flags Presidio compiles a recognizer's patterns with when it is given none.
PRESIDIO_FLAGS = regex.DOTALL | regex.MULTILINE | regex.IGNORECASE


class LastTextMatches:
    """A compiled pattern that keeps its matches in the last text it searched.

    Six recognizers have the same weak `LOOSE_ID` pattern, and Presidio hands each of them the
    same text object in turn: sharing one of these, the text is searched once, not six times
    (about 0.4 ms of a 1 KB scan). Only an identical object (``is``) reuses the matches: the
    last text is held, so its id cannot be reused by another string meanwhile.
    """

    def __init__(self, pattern: str, flags: int) -> None:
        self._compiled = regex.compile(pattern, flags=flags)
        self._last: tuple[str, list[Any]] | None = None

    def finditer(self, text: str, timeout: float | None = None) -> Iterator[Any]:
        """`regex.Pattern.finditer`, answered from the last search when ``text`` is its text."""
        last = self._last  # one read: other threads may replace it
        if last is None or last[0] is not text:
            last = (text, list(self._compiled.finditer(text, timeout=timeout)))
            self._last = last
        return iter(last[1])


_LOOSE_ID_MATCHES = LastTextMatches(LOOSE_ID, PRESIDIO_FLAGS)


def loose_id(name: str) -> Pattern:
    """The weak bare-identifier pattern (`LOOSE_ID`, `WEAK_SCORE`), searched once per text for
    every recognizer that has it (`LastTextMatches`)."""
    pattern = Pattern(name, LOOSE_ID, WEAK_SCORE)
    # Presidio compiles a pattern only when this is unset (it types the attribute as None)
    pattern.compiled_regex = _LOOSE_ID_MATCHES  # type: ignore[assignment]
    pattern.compiled_with_flags = PRESIDIO_FLAGS
    return pattern


def words(block: str) -> list[str]:
    """The whitespace-separated words of a multi-line string (for word lists)."""
    return block.split()


def alternatives(fragments: list[str]) -> str:
    """``(?:a|b|c)`` from regex fragments."""
    return "(?:" + "|".join(fragments) + ")"


def keyed(keys: list[str], value: str = ID_VALUE, gap: str = GAP) -> str:
    """A pattern matching ``value`` only when it follows one of ``keys`` (and ``gap``).

    The key is matched forwards and ``\\K`` (``regex``: keep) starts the reported span at the
    value, with the shortest gap first: the same spans as a lookbehind on the key, which the
    engine would have to try at every position of the text (about 8x slower).
    """
    lazy_gap = gap if gap.endswith("?") else gap + "?"
    return rf"\b{alternatives(keys)}{lazy_gap}\K{value}"


class IdRecognizer(PatternRecognizer):
    """A pattern recognizer for identifiers: a match needs ``min_digits`` digits."""

    def __init__(
        self,
        entity: str,
        patterns: list[Pattern],
        context: list[str],
        min_digits: int = 3,
    ) -> None:
        super().__init__(
            supported_entity=entity,
            name=f"{entity.title().replace('_', '')}Recognizer",
            patterns=patterns,
            context=context,
        )
        self.min_digits = min_digits

    def invalidate_result(self, pattern_text: str) -> bool:
        return sum(c.isdigit() for c in pattern_text) < self.min_digits or len(pattern_text) < 4
