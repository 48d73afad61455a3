"""Recognizer for Safe Harbor category A (names), complementing spaCy's PERSON entities.

The small spaCy model misses names in the telegraphic style of clinical notes; these
patterns catch a capitalised name after an honorific ("Mr. Okafor"), after a role or
relation word ("daughter Keisha", "Attending: Samuel Whitfield"), a common given name followed
by a surname ("Eleanor Price", which spaCy may tag ORG), and "Last, First" / "LAST, FIRST"
headers. Names are matched case-sensitively.
"""

from __future__ import annotations

import re

from presidio_analyzer import Pattern, PatternRecognizer

from agentyard.phi.recognizers._common import words
from agentyard.phi.recognizers.first_names import FIRST_NAMES

_WORD = r"(?:(?:Mc|Mac|O'|D')?[A-Z][a-z]+(?:[\-'][A-Z][a-z]+)?)"
_NAME = rf"{_WORD}(?:\s(?:[A-Z]\.\s)?{_WORD}){{0,2}}"
_FIRST = "(?:" + "|".join(sorted(FIRST_NAMES, key=len, reverse=True)) + ")"
_UPPER_WORD = r"(?:[A-Z]{3,}(?:[\-'][A-Z]{2,})?)"

_HONORIFIC = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sr|Sister|Father)\.?"
_ROLE = (
    r"(?:[Pp]atient|[Pp]t|[Nn]ame|[Pp]atient\s+name|[Dd]aughter|[Ss]on|[Ww]ife|[Hh]usband|"
    r"[Ss]pouse|[Pp]artner|[Mm]other|[Ff]ather|[Mm]om|[Dd]ad|[Bb]rother|[Ss]ister|"
    r"[Gg]rand(?:son|daughter|mother|father)|[Aa]unt|[Uu]ncle|[Nn]iece|[Nn]ephew|[Cc]ousin|"
    r"[Gg]uardian|[Cc]aregiver|[Nn]eighbou?r|[Ff]riend|[Rr]oommate|[Cc]ontact|[Aa]ttending|"
    r"[Rr]esident|[Ff]ellow|[Ss]urgeon|[Pp]hysician|[Pp]rovider|[Nn]urse|PCP|[Tt]herapist|"
    r"[Rr]eached|[Ee]ncounter\s+with|[Pp]er|"
    r"(?:[Ss]igned|[Cc]o-?signed|[Ss]een|[Rr]eferred|[Dd]ictated|[Ww]ritten|[Dd]ocumented|"
    r"[Rr]eviewed|[Ee]xamined|[Ee]valuated|[Aa]ttested|[Aa]uthenticated|[Pp]ronounced|"
    r"[Aa]ccompanied|[Tt]ranscribed|[Pp]erformed|[Ii]nterpreted|[Oo]rdered|[Pp]rescribed|"
    r"[Vv]erified|[Ww]itnessed|[Oo]btained|[Bb]rought(?:\s+in)?)\s+by)"
)

# Capitalised words that follow a role word without being a name.
NOT_NAMES = frozenset(
    words("""
    The This That These Those He She They His Her Their It We I You A An And Or But With
    Is Was Has Had Reports Reported Denies Denied States Stated Presents Presented Seen
    Emergency Department Cardiology Neurology Oncology Surgery Medicine Nursing Pharmacy
    Social Services Hospice Care Home Health Clinic Hospital Unit Team Service Staff
    Name Patient Date Age Sex Male Female Unknown None Not Note Notes Today Yesterday
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday
    January February March April May June July August September October November December
    Mandarin Spanish English Medicare Medicaid History Plan Assessment Exam Labs Lab
    """)
)


CLINICAL_ACRONYMS = frozenset(
    words("""
    CBC BMP CMP LFT LFTS TSH INR PTT ESR CRP BNP ABG VBG EKG ECG EEG EMG CXR MRI MRA CTA PET
    MRSA MRSE VRE ESBL COPD CHF CKD ESRD AKI HTN HLD CAD PAD PVD DVT AFIB GERD IBS IBD UTI
    URI OSA BPH PTSD ADHD NSAID NSAIDS ACEI ARB SSRI SNRI PRN BID TID QID NPO DNR DNI ICU
    CCU PACU OR ER ED EMS ADL ADLS IADL NKDA NKA ROS HPI PMH PSH MAR POLST HIPAA PHI
    """)
)


class NameRecognizer(PatternRecognizer):
    """Names after honorifics and role words, "First Last" with a known given name, and
    "Last, First" / "LAST, FIRST" headers."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="PERSON",
            name="ClinicalNameRecognizer",
            patterns=[
                Pattern("honorific name", rf"(?<=\b{_HONORIFIC}\s){_NAME}\b", 0.85),
                Pattern("role name", rf"(?<=\b{_ROLE}[:,]?\s{{1,2}}\(?){_NAME}\b", 0.7),
                Pattern("first last", rf"\b{_FIRST}(?:\s[A-Z]\.)?\s{_WORD}\b", 0.7),
                Pattern("last, first", rf"\b{_WORD},\s{_FIRST}\b(?:\s{_WORD}\b)?", 0.7),
                Pattern(
                    "LAST, FIRST",
                    rf"(?<![A-Za-z]){_UPPER_WORD},\s?{_UPPER_WORD}(?:\s[A-Z]\.?)?\b",
                    0.6,
                ),
            ],
            global_regex_flags=re.DOTALL | re.MULTILINE,
        )

    def invalidate_result(self, pattern_text: str) -> bool:
        tokens = [w for w in re.split(r"[\s,]+", pattern_text) if w]
        if pattern_text.isupper():  # "LAST, FIRST": not a list of acronyms ("CBC, BMP")
            return any(w in CLINICAL_ACRONYMS or not re.search("[AEIOUY]", w) for w in tokens)
        return any(w in NOT_NAMES for w in tokens)
