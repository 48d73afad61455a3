"""Entity types the guard reports and the HIPAA Safe Harbor categories they belong to.

Safe Harbor (45 CFR 164.514(b)(2)(i)) lists 18 kinds of identifiers, (A) to (R). The guard
reports Presidio-style upper-case entity types; each maps to exactly one category. A category
is *claimed* when the guard detects it in free text and the labelled corpus in
``tests/phi/corpus.py`` checks its recall (>= 0.95); unclaimed categories say why.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SafeHarborCategory:
    """One of the 18 Safe Harbor identifier categories."""

    code: str  # "A".."R", as lettered in 45 CFR 164.514(b)(2)(i)
    name: str
    claimed: bool
    note: str  # how it is detected, or why it is not claimed


_CATEGORIES = (
    SafeHarborCategory("A", "Names", True, "PERSON: spaCy NER plus honorific/role/label patterns"),
    SafeHarborCategory(
        "B",
        "Geographic subdivisions smaller than a state",
        True,
        "STREET_ADDRESS, ZIP_CODE (5 and 5+4) by pattern; LOCATION (cities, counties) by NER "
        "and 'City, ST' / 'X County' patterns. States and countries alone are not reported.",
    ),
    SafeHarborCategory(
        "C",
        "Dates (except year) related to an individual; ages over 89",
        True,
        "DATE: day/month dates in numeric and month-name formats, month+year, birth years "
        "implying an age over 89; AGE_OVER_89: ages 90 and above. A year alone is not reported.",
    ),
    SafeHarborCategory("D", "Telephone numbers", True, "PHONE_NUMBER: libphonenumber (US + intl)"),
    SafeHarborCategory("E", "Fax numbers", True, "FAX_NUMBER: phone numbers introduced by 'fax'"),
    SafeHarborCategory("F", "Electronic mail addresses", True, "EMAIL_ADDRESS"),
    SafeHarborCategory("G", "Social security numbers", True, "US_SSN"),
    SafeHarborCategory("H", "Medical record numbers", True, "MEDICAL_RECORD_NUMBER: labelled ids"),
    SafeHarborCategory(
        "I", "Health plan beneficiary numbers", True, "HEALTH_PLAN_ID: member ids, Medicare MBI"
    ),
    SafeHarborCategory(
        "J", "Account numbers", True, "ACCOUNT_NUMBER: labelled ids, card numbers, IBAN"
    ),
    SafeHarborCategory(
        "K",
        "Certificate/license numbers",
        True,
        "LICENSE_NUMBER: driver's licences, professional licences, DEA numbers, certificates",
    ),
    SafeHarborCategory(
        "L",
        "Vehicle identifiers and serial numbers, including license plates",
        True,
        "VEHICLE_ID: VINs, labelled licence plates",
    ),
    SafeHarborCategory(
        "M",
        "Device identifiers and serial numbers",
        True,
        "DEVICE_ID: labelled serial numbers, GS1/HIBCC UDIs, IMEI, MAC addresses",
    ),
    SafeHarborCategory("N", "Web URLs", True, "URL"),
    SafeHarborCategory("O", "IP addresses", True, "IP_ADDRESS: IPv4 and IPv6"),
    SafeHarborCategory(
        "P",
        "Biometric identifiers (finger and voice prints)",
        False,
        "Biometric data is not text; a textual mention ('fingerprint on file') carries no "
        "identifier to redact.",
    ),
    SafeHarborCategory(
        "Q",
        "Full-face photographs and comparable images",
        False,
        "Images are not text; the guard scans text only.",
    ),
    SafeHarborCategory(
        "R",
        "Any other unique identifying number, characteristic, or code",
        False,
        "Open-ended by definition. US_PASSPORT and US_ITIN are detected best-effort, with no "
        "recall claim.",
    ),
)

SAFE_HARBOR: dict[str, SafeHarborCategory] = {c.code: c for c in _CATEGORIES}

# Entity type -> Safe Harbor category code. Presidio's own types are renamed onto these when
# the recognizers are built (see agentyard.phi.engine): DATE_TIME -> DATE, CREDIT_CARD /
# US_BANK_NUMBER / IBAN_CODE -> ACCOUNT_NUMBER, US_DRIVER_LICENSE / MEDICAL_LICENSE ->
# LICENSE_NUMBER, US_MBI -> HEALTH_PLAN_ID, MAC_ADDRESS -> DEVICE_ID.
ENTITY_CATEGORY: dict[str, str] = {
    "PERSON": "A",
    "LOCATION": "B",
    "STREET_ADDRESS": "B",
    "ZIP_CODE": "B",
    "DATE": "C",
    "AGE_OVER_89": "C",
    "PHONE_NUMBER": "D",
    "FAX_NUMBER": "E",
    "EMAIL_ADDRESS": "F",
    "US_SSN": "G",
    "MEDICAL_RECORD_NUMBER": "H",
    "HEALTH_PLAN_ID": "I",
    "ACCOUNT_NUMBER": "J",
    "LICENSE_NUMBER": "K",
    "VEHICLE_ID": "L",
    "DEVICE_ID": "M",
    "URL": "N",
    "IP_ADDRESS": "O",
    "BIOMETRIC_ID": "P",
    "OTHER_ID": "R",
    "US_PASSPORT": "R",
    "US_ITIN": "R",
}

ENTITY_TYPES: tuple[str, ...] = tuple(ENTITY_CATEGORY)
CLAIMED: tuple[SafeHarborCategory, ...] = tuple(c for c in _CATEGORIES if c.claimed)
NOT_CLAIMED: tuple[SafeHarborCategory, ...] = tuple(c for c in _CATEGORIES if not c.claimed)


def category_of(entity_type: str) -> SafeHarborCategory:
    """The Safe Harbor category of an entity type (KeyError for an unknown type)."""
    return SAFE_HARBOR[ENTITY_CATEGORY[entity_type]]
