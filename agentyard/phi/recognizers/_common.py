"""Regex building blocks shared by the custom recognizers.

Presidio compiles patterns with the third-party ``regex`` module (variable-length lookbehind,
scoped flags such as ``(?-i:...)``) and, by default, with IGNORECASE. A *keyed* pattern matches
its label and then ``\\K`` (``MRN: 00482913`` -> span ``00482913``), so the span is the value
alone and the label itself is what makes the match precise.
"""

from __future__ import annotations

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
