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
from agentyard.phi.recognizers.first_names import FIRST_NAMES, LOWERCASE_FIRST_NAMES

# Letters beyond ASCII too ("Wiśniewski", "Ó Briain"): presidio matches with `regex`.
_WORD = r"(?:(?:Mc|Mac|O'|O’|D'|Ó\s)?\p{Lu}\p{Ll}+(?:[\-'’]\p{Lu}\p{Ll}+)?)"
# Lowercase particles inside a name ("Pieter van der Berg", "Jan de Vries").
_PARTICLE = r"(?:de|del|della|der|den|di|du|da|dos|das|van|von|le|la|bin|ibn|al|el|ter|zu)"
_NAME = rf"{_WORD}(?:\s(?:\p{{Lu}}\.\s)?(?:{_PARTICLE}\s){{0,2}}{_WORD}){{0,2}}"
# Every given name is capitalised: the capital is checked before the long alternation.
_FIRST = r"(?=\p{Lu})(?:" + "|".join(sorted(FIRST_NAMES, key=len, reverse=True)) + ")"
_STOP = (
    r"(?:at|in|on|is|was|has|had|and|or|with|w|to|for|from|by|the|a|an|who|will|c|"
    r"says|said|states|reports|denies|called|came|here|present|bedside|today)"
)
# Sloppy lowercase notes ("pt john kowalski", "her neighbor barb"): a role word, then a known
# given name that is not also an everyday word, then up to two more lowercase words.
_LOWER_FIRST = "(?:" + "|".join(sorted(LOWERCASE_FIRST_NAMES, key=len, reverse=True)) + ")"
_LOWER_ROLE = (
    r"(?:pt|patient|mother|father|mom|dad|wife|husband|spouse|son|daughter|sister|brother|"
    r"neighbou?r|friend|caregiver|grand(?:son|daughter|mother|father)|aunt|uncle|cousin|"
    r"niece|nephew|boyfriend|girlfriend|partner|fianc[eé]e?|roommate|dr|nurse)"
)
_LOWER_NAME = rf"{_LOWER_FIRST}(?:\s(?!{_STOP}\b)[a-z]{{2,}}){{0,2}}"
_UPPER_WORD = r"(?:(?:MC|MAC|O'|O’|D')\p{Lu}{2,}|\p{Lu}{3,})(?:[\-'’]\p{Lu}{2,})*"
_UPPER_NAME = rf"{_UPPER_WORD}(?:\s(?:\p{{Lu}}\.?\s)?{_UPPER_WORD}){{1,2}}"
# Credentials written after a clinician's name ("Priya Natarajan, MD").
_CREDENTIAL = (
    r"(?:MD|M\.D\.|DO|D\.O\.|NP|FNP(?:-BC)?|APRN|RN|BSN|LPN|CNA|PA-C|PA|PharmD|DNP|CNM|"
    r"CRNA|LCSW|LICSW|MSW|PhD|PsyD|DDS|DMD|DPM|DPT|PT|OT|OTR|SLP|CCC-SLP|RD|RRT|EMT|MPH)"
    r"(?![\w\-])"
)
_RELATION = (
    r"(?:wife|husband|spouse|partner|son|daughter|mother|father|mom|dad|sister|brother|"
    r"grand(?:son|daughter|mother|father|child)|aunt|uncle|niece|nephew|cousin|friend|"
    r"neighbou?r|caregiver|guardian|fianc[eé]e?|girlfriend|boyfriend|HCPOA|POA|"
    r"(?:son|daughter|mother|father|brother|sister)-in-law)"
)
_UPPER_ROLE = (
    r"(?:PATIENT|PT|NAME|BY|PHYSICIAN|ATTENDING|PROVIDER|NURSE|SURGEON|RESIDENT|CLINICIAN|"
    r"GUARANTOR|SUBSCRIBER|INSURED|EMERGENCY\s+CONTACT|DAUGHTER|SON|WIFE|HUSBAND|SPOUSE|"
    r"MOTHER|FATHER|SISTER|BROTHER|PARTNER|GUARDIAN|CAREGIVER)"
)

_HONORIFIC = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sr|Sister|Father)\.?"
_ROLE = (
    r"(?:(?:[Pp]atient|[Pp]t|[Nn]ame|[Pp]atient\s+name|[Dd]aughter|[Ss]on|[Ww]ife|[Hh]usband|"
    r"[Ss]pouse|[Pp]artner|[Mm]other|[Ff]ather|[Mm]om|[Dd]ad|[Bb]rother|[Ss]ister|"
    r"[Gg]rand(?:son|daughter|mother|father)|[Aa]unt|[Uu]ncle|[Nn]iece|[Nn]ephew|[Cc]ousin|"
    r"[Gg]uardian|[Cc]aregiver|[Nn]eighbou?r|[Ff]riend|[Rr]oommate|[Cc]ontact|[Aa]ttending|"
    r"[Rr]esident|[Ff]ellow|[Ss]urgeon|[Pp]hysician|[Pp]rovider|[Nn]urse|PCP|[Tt]herapist|"
    r"[Rr]eached|[Ee]ncounter\s+with|[Pp]er|"
    r"(?:[Ss]igned|[Cc]o-?signed|[Ss]een|[Rr]eferred|[Dd]ictated|[Ww]ritten|[Dd]ocumented|"
    r"[Rr]eviewed|[Ee]xamined|[Ee]valuated|[Aa]ttested|[Aa]uthenticated|[Pp]ronounced|"
    r"[Aa]ccompanied|[Tt]ranscribed|[Pp]erformed|[Ii]nterpreted|[Oo]rdered|[Pp]rescribed|"
    r"[Vv]erified|[Ww]itnessed|[Oo]btained|[Bb]rought(?:\s+in)?)\s+by)(?:-in-law)?|"
    r"[Gg]oes\s+by|[Kk]nown\s+as|[Nn]amed|[Nn]icknamed|[Aa]ka|[Ss]poke\s+(?:with|to)|"
    r"[Tt]alked\s+(?:with|to)|[Pp]refers\s+to\s+be\s+called|[Mm]et\s+with|"
    r"[Tt]old|[Aa]sked|[Ii]nformed|[Aa]dvised|[Ii]nstructed|[Rr]eminded|[Cc]ounseled|"
    r"[Dd]iscussed(?:\s+(?:the\s+)?(?:results?|findings|plan|options))?\s+with|"
    r"[Mm]essage\s+left\s+(?:for|with)|(?:[Cc]hart|[Rr]ecords?)\s+reviewed\s+for|"
    r"[Nn]otified|[Tt]exted|[Ee]mailed|[Aa]ide|[Ii]nterpreter|[Tt]ranslator|[Cc]haplain|"
    r"[Ss]ocial\s+worker|[Cc]ase\s+manager|[Cc]oordinator|[Pp]harmacist|[Hh]ospitalist|"
    r"[Tt]echnician|[Cc]ounselor|[Dd]oula|[Mm]idwife|[Ll]andlord|[Cc]o-?worker|[Bb]oss|"
    r"[Ss]ponsor|[Pp]astor|[Bb]oyfriend|[Gg]irlfriend|[Ff]ianc[eé]e?)"
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
    """Names after honorifics and role words, "First Last" with a known given name,
    "Last, First" / "LAST, FIRST" headers, names before credentials ("..., MD") or a
    relation in parentheses ("Agnieszka (wife)"), and upper-case names after a role word."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="PERSON",
            name="ClinicalNameRecognizer",
            patterns=[
                Pattern("honorific name", rf"(?<=\b{_HONORIFIC}\s){_NAME}\b", 0.85),
                Pattern("role name", rf"(?<=\b{_ROLE}[:,]?\s{{1,2}}\(?){_NAME}\b", 0.7),
                Pattern("first last", rf"\b{_FIRST}(?:\s[A-Z]\.)?\s{_WORD}\b", 0.7),
                Pattern("last, first", rf"\b{_WORD},\s{_FIRST}\b(?:\s{_WORD}\b)?", 0.7),
                Pattern("name, credential", rf"\b{_NAME}(?=,?\s+{_CREDENTIAL})", 0.75),
                Pattern(
                    "NAME, CREDENTIAL",
                    rf"(?<![\p{{L}}']){_UPPER_NAME}(?=,?\s+{_CREDENTIAL})",
                    0.7,
                ),
                Pattern(
                    "ROLE NAME",
                    rf"(?<=\b{_UPPER_ROLE}[:,]?\s{{1,2}}){_UPPER_NAME}(?![\p{{L}}'])",
                    0.7,
                ),
                Pattern(
                    "name (relation)",
                    rf"\b{_NAME}(?=\s*\((?i:(?:(?:the\s+)?(?:patient|pt|her|his|their)"
                    rf"(?:'s|’s)?\s+)?{_RELATION})\b)",
                    0.7,
                ),
                # "Wilhelmina Ekwueme is a 67 yo F": a name opening a one-liner with an age
                Pattern(
                    "name is a N yo",
                    rf"(?<![\p{{L}}'])(?<!\b(?:{_HONORIFIC})\s){_WORD}\s{_WORD}"
                    rf"(?=\s+is\s+an?\s+\d{{1,3}}[\s\-]*(?:y/?o\b|yo\b|yr|year|-year|y\.o\.))",
                    0.7,
                ),
                # "The Hernández Ruiz family"
                Pattern("the X family", rf"(?<=\b[Tt]he\s){_NAME}(?=\s+family\b)", 0.7),
                # "Discharge summary: Oyelaran, Temitope": Last, First after a header word
                Pattern(
                    "header Last, First",
                    rf"(?<=\b(?:{_ROLE}|[Ss]ummary|[Rr]e)[:]\s{{1,2}}){_WORD},\s{_WORD}\b",
                    0.7,
                ),
                Pattern(
                    "lowercase role name",
                    rf"(?<=\b{_LOWER_ROLE}\s){_LOWER_NAME}(?![\p{{L}}'])",
                    0.6,
                ),
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
            return any(
                w in CLINICAL_ACRONYMS or (len(w) > 2 and not re.search("[AEIOUY]", w))
                for w in tokens
            )
        return any(w in NOT_NAMES for w in tokens)
