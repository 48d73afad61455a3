"""Recognizers for Safe Harbor category C: dates (except a year alone) and ages over 89.

Replaces presidio's DateRecognizer and spaCy's DATE label (which also tags durations such as
"3 days" and years alone). Month names must be capitalised ("May 5", not "may 5").
"""

from __future__ import annotations

import datetime

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer

from agentyard.phi.recognizers._common import words

_MONTH = (
    r"(?-i:(?=[A-Z]))(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|"
    r"Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)(?:\.|\b)"
)
_WEEKDAY = (
    r"(?-i:(?=[A-Z]))(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|"
    r"Mon|Tues?|Wed|Thu(?:rs?)?|Fri|Sat|Sun)\.?,?\s+"
)
_DAY = r"(?:[12][0-9]|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR4 = r"(?:1[89]|20)[0-9]{2}"
_YEAR = rf"(?:{_YEAR4}|'[0-9]{{2}})"
_NUM_MONTH = r"(?:0?[1-9]|1[0-2])"
_NUM_DAY = r"(?:0?[1-9]|[12][0-9]|3[01])"
# Numeric dates must not be part of a longer dotted/dashed number (IP addresses, versions).
_NOT_BEFORE = r"(?<![0-9./\-])"
_NOT_AFTER = r"(?![0-9]|[./\-][0-9])"
_SCORE_WORDS = r"pain|score|scale|rated|rates|rating|strength|grade|graded|ratio|dilated|of"

DATE_PATTERNS = [
    Pattern(
        "month day year",
        rf"\b(?:{_WEEKDAY})?{_MONTH}\s*{_DAY}(?:\s*,\s*|\s+){_YEAR}\b",
        0.85,
    ),
    Pattern("month day", rf"\b(?:{_WEEKDAY})?{_MONTH}\s*{_DAY}\b", 0.7),
    Pattern(
        "day month year",
        rf"\b(?:the\s+)?{_DAY}(?:\s+of)?[\s\-]+{_MONTH}[\s,\-]*{_YEAR}\b",
        0.85,
    ),
    Pattern("day month", rf"\b(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}", 0.6),
    Pattern("month year", rf"\b{_MONTH},?\s+{_YEAR4}\b", 0.7),
    Pattern(
        "m/d/y",
        rf"{_NOT_BEFORE}{_NUM_MONTH}([/\-.]){_NUM_DAY}\1(?:{_YEAR4}|[0-9]{{2}}){_NOT_AFTER}",
        0.8,
    ),
    Pattern(
        "d/m/y",
        rf"{_NOT_BEFORE}(?:1[3-9]|2[0-9]|3[01])([/\-.]){_NUM_MONTH}\1(?:{_YEAR4}|[0-9]{{2}})"
        rf"{_NOT_AFTER}",
        0.8,
    ),
    Pattern(
        "y-m-d",
        rf"{_NOT_BEFORE}{_YEAR4}([/\-.]){_NUM_MONTH}\1{_NUM_DAY}"
        rf"(?:T[0-2][0-9]:[0-5][0-9](?::[0-5][0-9](?:\.[0-9]+)?)?(?:Z|[+\-][0-2][0-9]:?[0-5][0-9])?)?"
        rf"{_NOT_AFTER}",
        0.85,
    ),
    Pattern("weekday m/d", rf"(?<=\b{_WEEKDAY}){_NUM_MONTH}/{_NUM_DAY}{_NOT_AFTER}", 0.8),
    Pattern("m/yyyy", rf"{_NOT_BEFORE}{_NUM_MONTH}/{_YEAR4}{_NOT_AFTER}", 0.5),
    # "3/18" is also a fraction or a score ("pain 7/10"): weak, needs a context word...
    Pattern("m/d (weak)", rf"{_NOT_BEFORE}{_NUM_MONTH}/{_NUM_DAY}{_NOT_AFTER}", 0.15),
    # ... or a preposition or date word right before it ("on 3/15", "LMP 2/11"), unless a
    # score word comes shortly before ("pain improved from 8/10").
    Pattern(
        "m/d after a date word",
        rf"(?<!\b(?:{_SCORE_WORDS})\b[^.;\n]{{0,30}})"
        rf"(?<=\b(?:on|since|until|till|by|from|to|through|thru|dated|LMP|LNMP|period|after|"
        rf"before|starting|effective)\s{{1,2}}){_NUM_MONTH}/{_NUM_DAY}{_NOT_AFTER}"
        r"(?!\s*(?:strength|tabs?|tablets?|of|doses?|cups?|inch|inches)\b)",
        0.6,
    ),
    # A range of two full dates: "1/5/2020-1/12/2020".
    Pattern(
        "m/d/y range",
        rf"{_NOT_BEFORE}{_NUM_MONTH}/{_NUM_DAY}/(?:{_YEAR4}|[0-9]{{2}})\s?[\-–]\s?"
        rf"{_NUM_MONTH}/{_NUM_DAY}/(?:{_YEAR4}|[0-9]{{2}}){_NOT_AFTER}",
        0.85,
    ),
    # Compact forms: "04MAR2022" (dd + month abbreviation + year) and "20230612" (yyyymmdd).
    Pattern(
        "ddMONyyyy",
        r"(?<![0-9A-Za-z])(?:0[1-9]|[12][0-9]|3[01])"
        rf"(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEPT?|OCT|NOV|DEC)(?:{_YEAR4}|[0-9]{{2}})"
        r"(?![0-9A-Za-z])",
        0.85,
    ),
    Pattern(
        "yyyymmdd",
        rf"(?<![0-9A-Za-z.\-/]){_YEAR4}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
        r"(?![0-9A-Za-z\-/]|\.[0-9])",
        0.55,
    ),
    # "Jan '21"
    Pattern("month 'yy", rf"\b{_MONTH}\s*'[0-9]{{2}}\b", 0.75),
    # A birth year alone is a date element when it implies an age over 89.
    Pattern(
        "birth year",
        r"(?<=\b(?:born(?:\s+in)?|birth\s*year|year\s+of\s+birth|YOB|DOB|b\.)\s*[:\-]?\s*)"
        rf"1[89][0-9]{{2}}{_NOT_AFTER}",
        0.85,
    ),
]

# Matched against lemmas, whole words; spaCy's small model leaves some participles as they
# are ("intubated"), so both forms are listed.
DATE_CONTEXT = words("""
    date dob birth birthday born admit admitted admission discharge discharged visit visited
    seen see intubate intubated extubate extubated surgery operated procedure appointment
    schedule scheduled death die died deliver delivered vaccinate vaccinated receive received
    start started stop stopped since until onset injury dated
""")


class DateRecognizer(PatternRecognizer):
    """Dates of every common format; a year alone only when it is a birth year > 89 ago."""

    def __init__(self, today: datetime.date | None = None) -> None:
        super().__init__(
            supported_entity="DATE",
            name="SafeHarborDateRecognizer",
            patterns=[Pattern(p.name, p.regex, p.score) for p in DATE_PATTERNS],  # fresh copies
            context=DATE_CONTEXT,
        )
        self._today = today

    def invalidate_result(self, pattern_text: str) -> bool:
        text = pattern_text.strip()
        if len(text) == 4 and text.isdigit():  # birth year: keep only if it implies age > 89
            this_year = (self._today or datetime.date.today()).year
            return this_year - int(text) < 90
        return False


_AGE = r"(?:9[0-9]|1[01][0-9])"
_SPELLED_AGE = (
    r"(?:ninety(?:[\-\s](?:one|two|three|four|five|six|seven|eight|nine))?"
    r"|(?:one\s+|a\s+)?hundred(?:\s+(?:and\s+)?(?:one|two|three|four|five|six|seven|eight|"
    r"nine|ten|eleven|twelve))?)"
)

AGE_PATTERNS = [
    Pattern("age + years", rf"(?<![0-9.,/]){_AGE}(?=[\s\-]*(?:years?|yrs?)\b)", 0.85),
    Pattern("age + y/o", rf"(?<![0-9.,/]){_AGE}(?=[\s\-]*(?:y/?o|y\.o\.?)(?![a-z]))", 0.85),
    Pattern(
        "age + sex",
        rf"(?<!\b(?:temp|temperature|t|tmax)\.?:?\s{{0,2}})(?<![0-9.,/]){_AGE}(?-i:[MF])\b",
        0.7,
    ),
    Pattern(
        "age keyword",
        rf"(?<=\b(?:age|aged|ages|turned|turning)\s*[:=]?\s*){_AGE}\b(?![.,/][0-9])",
        0.85,
    ),
    Pattern(
        "patient is <age>",
        rf"(?<=\b(?:pt|patient|she|he)\s+(?:is|was)\s+){_AGE}\b(?!\s*(?:%|[a-z]))",
        0.6,
    ),
    Pattern("spelled age", rf"\b{_SPELLED_AGE}(?=[\s\-]+(?:years?|yrs?)\b)", 0.85),
]


def age_over_89() -> EntityRecognizer:
    return PatternRecognizer(
        supported_entity="AGE_OVER_89",
        name="AgeOver89Recognizer",
        patterns=[Pattern(p.name, p.regex, p.score) for p in AGE_PATTERNS],  # fresh copies
        context=["age", "aged", "old", "yo"],
    )
