"""Drop PERSON/LOCATION findings that are not identifiers.

spaCy's small model tags capitalised words at the start of a clinical sentence ("Biopsy
from...", "Amoxicillin 875 mg...") and codes ("M54.5") as names or places. A PERSON or
LOCATION finding is dropped when it contains a digit, is followed by a dose, is one common
word or title, is a short acronym, is a medical eponym ("Parkinson's disease"), or (LOCATION)
is only a state or a country.
"""

from __future__ import annotations

import re

from agentyard.phi.findings import Finding
from agentyard.phi.recognizers._common import words
from agentyard.phi.recognizers.geography import STATE_ABBREVIATIONS, STATE_AND_COUNTRY_NAMES
from agentyard.phi.recognizers.names import NOT_NAMES

# Eponyms and brand names that are rarely someone's name, dropped even when no disease word
# follows ("history of Parkinson's", "Foley removed"), unless a title precedes them ("Mr.
# Foley"). Common surnames (Wilson, Turner, Graves, Bell...) are only dropped before a disease
# word (`_EPONYM_FOLLOWERS`).
EPONYMS = frozenset(
    words("""
    parkinson alzheimer crohn hodgkin cushing hashimoto foley glasgow apgar lyme guillain barre
    kawasaki raynaud sjogren tourette asperger epstein babinski homans kernig brudzinski
    trendelenburg valsalva heimlich whipple nissen kaposi ewing wilms burkitt marfan
    klinefelter meniere osgood schlatter dupuytren colles ebola norwalk marburg zika
    coxsackie nile rocky mountain gehrig romberg hickman tenckhoff mallory weiss tinel phalen
    lachman mcburney blatchford ranson swan ganz mohs moca gleason morse braden
    tylenol motrin advil lasix coumadin eliquis xarelto keppra norco percocet dilaudid
    """)
)
_TITLE_BEFORE = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s*$")

_EPONYM_FOLLOWERS = re.compile(
    r"^(?:'s|’s|s')?\s+(?:disease|syndrome|palsy|sign|test|maneuver|manoeuvre|catheter|"
    r"scale|score|criteria|lymphoma|sarcoma|tumou?r|virus|fever|esophagus|reflex|procedure|"
    r"fracture|cyst|contracture|phenomenon|triad|law|equation|formula|negative|positive|"
    r"line|port|pump|sensor|CGM|monitor|device|stent|valve|tube|drain|shunt|graft|"
    r"surgery|classification|stage|staging)\b",
    re.IGNORECASE,
)

# Single capitalised words that spaCy takes for a name or a place in clinical text.
COMMON_WORDS = NOT_NAMES | frozenset(
    words("""
    Dr Mr Mrs Ms Miss Prof MD DO RN NP PA PCP Sr Jr PharmD PhD PsyD DNP APRN FNP LPN LCSW
    Husband Wife Son Daughter Mother Father Brother Sister Spouse Partner Family Caregiver
    Email E-mail Phone Cell Mobile Fax Tel Telephone Callback Contact Address Portal Message
    Biopsy Specimen Culture Cultures Imaging Echo Pathology Radiology Discharge Admission
    Worker Employer Insurance Medicare Medicaid Medi-Cal Tricare Hep Vitamin Insulin
    Aetna Anthem Cigna Humana Kaiser BCBS Blue Cross Shield UnitedHealthcare
    Allergies Medications Meds Vitals Impression Diagnosis Diagnoses Procedure Consent
    """)
)

_DOSE = re.compile(
    r"\s*[0-9][0-9.,/]*\s*(?:mg|mcg|g|kg|ml|mL|l|units?|iu|IU|puffs?|tabs?|tablets?|caps?|"
    r"capsules?|drops?|%|meq|mEq|mmol)\b"
)
_SHORT_ACRONYM = re.compile(r"^[A-Z0-9]{1,4}$")
_CITY_ACRONYMS = frozenset({"NYC", "LA", "SF", "ATL", "PHL", "DFW"})

# "Barre, VT": a place that shares its name with an eponym (Guillain-Barré) is still a place.
_STATE_AFTER = re.compile(r",\s*(?:" + "|".join(STATE_ABBREVIATIONS) + r")\b")

_NER_TYPES = {"PERSON", "LOCATION"}
# Characters no name or place contains ("M54.5", "Spoke w/", "Tel 646-555-0117").
_NOT_IN_NAMES = re.compile(r"[0-9/@#_=+\[\]{}<>|\\]")


def _is_common(word: str) -> bool:
    """A title, a common clinical word or a short acronym (NYC, LA... excepted)."""
    if word in COMMON_WORDS or word.title() in COMMON_WORDS:
        return True
    return bool(_SHORT_ACRONYM.match(word)) and word not in _CITY_ACRONYMS


def _words(value: str) -> list[str]:
    return [w for w in re.split(r"[^a-z]+", value.lower().replace("'s", "")) if w]


def is_false_ner(text: str, finding: Finding) -> bool:
    """True for a PERSON/LOCATION finding that is not an identifier (see the module doc)."""
    if finding.entity_type not in _NER_TYPES:
        return False
    value = text[finding.start : finding.end].strip(" .,;:'\"()")
    if _NOT_IN_NAMES.search(value) or _DOSE.match(text, finding.end):
        return True
    placed = finding.entity_type == "LOCATION" and _STATE_AFTER.match(text, finding.end)
    if all(_is_common(w) for w in value.split()) and not placed:  # "Mobile, AL" is a place
        return True
    if finding.entity_type == "LOCATION" and value.lower() in STATE_AND_COUNTRY_NAMES:
        return True
    if _EPONYM_FOLLOWERS.match(text[finding.end : finding.end + 40]):
        return True
    tokens = _words(value)
    return (
        bool(tokens)
        and all(t in EPONYMS for t in tokens)
        and not _TITLE_BEFORE.search(text[max(0, finding.start - 8) : finding.start])
        and not placed
    )


def drop_false_ner(text: str, findings: list[Finding]) -> list[Finding]:
    """``findings`` without the PERSON/LOCATION findings that are not identifiers."""
    return [f for f in findings if not is_false_ner(text, f)]
