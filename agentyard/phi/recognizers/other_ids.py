"""Recognizers for Safe Harbor P (biometric identifiers) and R (any other unique identifying
number): labelled ids such as "fingerprint template FPT-4471-0928", "accession S24-018832",
"requisition #: RQ7720451", "case number CN-2023-77104".

Both categories stay unclaimed (open-ended by definition); these patterns catch the labelled
forms that occur in clinical text, so that `redact` hides them.
"""

from __future__ import annotations

from presidio_analyzer import EntityRecognizer, Pattern

from agentyard.phi.recognizers._common import (
    GAP,
    ID_VALUE,
    KEYED_SCORE,
    IdRecognizer,
    keyed,
    loose_id,
)

_NUM_WORD = r"(?:number|no\.?|num|nbr|\#|id|identifier)"

# A biometric template/hash id: alphanumeric chunks joined by - _ . / # (at least one digit).
_BIO_VALUE = r"(?<![\w\-])(?=[\w\-./#]*[0-9])[A-Z0-9]+(?:[#_\-./]{1,2}[A-Z0-9]+)*(?![\w\-])"
_BIO_KEYS = [
    r"(?:finger|thumb|palm|voice|hand)\s?prints?",
    r"(?:retina|retinal|iris|palm(?:[\s\-]vein)?|vein|face|facial(?:\s+geometry)?|"
    r"hand\s+geometry|gait|voice|DNA)"
    r"(?=\s+(?:scan|template|profile|hash|signature|biometric|geometry|recognition))",
    r"biometrics?",
    r"DNA\s+profile",
]
# Between the biometric word and its id: template/scan/profile words, punctuation, labels.
_BIO_GAP = (
    r"(?:[\x20\t:#=(]|\b(?:template|templates|scan|hash|profile|signature|enrol(?:l)?ment|"
    r"recognition|geometry|vein|print|biometric|record|key|code|ref|sample|number|no|num|"
    r"nbr|id|identifier|is|was|of)\b\.?){0,8}"
)


def biometric_id() -> EntityRecognizer:
    return IdRecognizer(
        "BIOMETRIC_ID",
        [Pattern("biometric id (keyed)", keyed(_BIO_KEYS, _BIO_VALUE, _BIO_GAP), KEYED_SCORE)],
        context=["fingerprint", "voiceprint", "biometric", "retina", "iris", "template"],
        min_digits=2,
    )


# Labels that name an identifier on their own ...
_STRONG_KEYS = [
    r"accessions?",
    r"requisitions?",
    r"specimens?",
    r"UNOS",
    r"registry",
    r"barcode",
    r"(?:prior\s+)?auth(?:orization)?",
    r"claim\s+control",
    r"confirmation",
    r"tracking",
    r"incident\s+report",
]
# ... and words that do only with an id word after them ("case number", "order ID").
_LABELLED_KEYS = [
    rf"(?:case|claim|order|encounter|visit|subject|study|episode|referral|reference|ticket|"
    rf"transaction|sample|report|lab|trial|enrollment|registration)\s*{_NUM_WORD}",
]


def other_unique_id() -> EntityRecognizer:
    return IdRecognizer(
        "OTHER_ID",
        [
            Pattern(
                "other id (keyed)", keyed(_STRONG_KEYS + _LABELLED_KEYS, ID_VALUE, GAP), KEYED_SCORE
            ),
            loose_id("other id (weak)"),
        ],
        context=[
            "accession",
            "requisition",
            "specimen",
            "case",
            "order",
            "encounter",
            "registry",
            "subject",
            "claim",
            "authorization",
            "barcode",
        ],
    )
