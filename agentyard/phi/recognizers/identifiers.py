"""Recognizers for labelled identifiers: MRN, health plan, account, licence, vehicle, device, fax.

Most have a *keyed* pattern (label then value, e.g. ``MRN: 00482913``; score 0.85) and a weak
bare-identifier pattern (score 0.1) that only passes the threshold when one of its context
words is among the five words before it (Presidio's LemmaContextAwareEnhancer, +0.35); VINs
and UDIs also have format patterns.
"""

from __future__ import annotations

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer

from agentyard.phi.recognizers._common import (
    KEYED_SCORE,
    IdRecognizer,
    keyed,
    loose_id,
)

_NUM_WORD = r"(?:number|no\.?|num|nbr|\#|id)"


def medical_record_number() -> EntityRecognizer:
    keys = [
        r"MRN",
        r"MR\#",
        r"MRUN",
        rf"med(?:ical)?\.?\s+rec(?:ord)?s?\.?(?:\s*{_NUM_WORD})?",
        rf"(?:health|patient|hospital|emr|ehr)\s+record\s*{_NUM_WORD}",
        r"record\s*(?:number|no\.?|\#)",
        r"chart\s*(?:number|no\.?|\#)",
        r"hospital\s+(?:number|no\.?|\#|id)",
        r"unit\s+(?:number|no\.?)",
        r"(?:patient|pt)\.?\s+(?:id|identifier)",
        r"(?:emr|ehr|epic)\s+(?:id|number)",
    ]
    return IdRecognizer(
        "MEDICAL_RECORD_NUMBER",
        [
            Pattern("mrn (keyed)", keyed(keys), KEYED_SCORE),
            loose_id("mrn (weak)"),
        ],
        context=["mrn", "medical", "record", "chart", "mr#", "wristband", "emr"],
    )


def health_plan_id() -> EntityRecognizer:
    payers = r"(?:aetna|cigna|bcbs|humana|unitedhealthcare|uhc|kaiser|anthem|tricare|champva)"
    keys = [
        r"(?:member|subscriber|beneficiary|recipient|enrollee)(?:\s*(?:id|identification|#))?",
        rf"(?:insurance|insurance\s+policy|policy|health\s+plan|plan|medicaid|medicare|medi-cal)"
        rf"\s*(?:{_NUM_WORD}|identification)",
        rf"{payers}\s*(?:{_NUM_WORD}|member)?",
        r"MBI",
    ]
    return IdRecognizer(
        "HEALTH_PLAN_ID",
        [
            Pattern("health plan id (keyed)", keyed(keys), KEYED_SCORE),
            loose_id("health plan id (weak)"),
        ],
        context=[
            "member",
            "subscriber",
            "insurance",
            "policy",
            "beneficiary",
            "medicaid",
            "medicare",
            "insurer",
            "payer",
        ],
    )


def account_number() -> EntityRecognizer:
    keys = [
        rf"(?:account|acct)\.?(?:\s*{_NUM_WORD})?",
        rf"(?:credit|debit|visa|mastercard|amex|discover)(?:\s+card)?(?:\s*{_NUM_WORD})?",
        rf"card\s*{_NUM_WORD}",
        r"IBAN",
    ]
    return IdRecognizer(
        "ACCOUNT_NUMBER",
        [
            Pattern("account number (keyed)", keyed(keys), KEYED_SCORE),
            loose_id("account number (weak)"),
        ],
        context=["account", "acct", "billing", "bank", "checking", "savings", "iban", "card"],
    )


def license_number() -> EntityRecognizer:
    lic = r"(?:licen[cs]e|lic\.?)"
    keys = [
        rf"(?:driver'?s?|driving|learner'?s?|professional|medical|nursing|physician|pharmacist|"
        rf"prescriber|firearm|state)\s+{lic}",
        rf"{lic}(?!\s+plate)",
        r"(?:DL|CDL|DLN)\#?",
        r"DEA(?:\s+registration)?\#?",
        r"(?:birth|death|marriage)\s+certificate",
        r"(?:board\s+)?certificat(?:e|ion)",
        r"permit",
        r"state\s+id(?:\s+card)?",
    ]
    return IdRecognizer(
        "LICENSE_NUMBER",
        [
            Pattern("license number (keyed)", keyed(keys), KEYED_SCORE),
            loose_id("license number (weak)"),
        ],
        context=["license", "licence", "dl", "cdl", "dea", "certificate", "permit", "lic"],
    )


class DeaNumberRecognizer(PatternRecognizer):
    """DEA registration numbers (2 letters + 7 digits) with a valid check digit.

    Replaces presidio's MedicalLicenseRecognizer, which scores any checksum-valid match 1.0
    although one random "XY1234567" in ten passes the checksum; here an unlabelled match needs
    a context word (keyed "DEA# ..." values are caught by `license_number`, typos included).
    """

    def __init__(self) -> None:
        super().__init__(
            supported_entity="LICENSE_NUMBER",
            name="DeaNumberRecognizer",
            patterns=[Pattern("dea", r"\b[ABCDEFGHJKLMPRSTUX][A-Z9][0-9]{7}\b", 0.3)],
            context=["dea", "prescriber", "registration", "controlled"],
        )

    def invalidate_result(self, pattern_text: str) -> bool:
        d = [int(c) for c in pattern_text[2:]]
        check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10
        return check != d[6]


# VIN: 17 characters, no I, O or Q, with letters and digits.
_VIN = (
    r"\b(?=[A-HJ-NPR-Z0-9]{17}\b)(?=(?:[A-HJ-NPR-Z]*[0-9]){3})(?=(?:[0-9]*[A-HJ-NPR-Z]){2})"
    r"[A-HJ-NPR-Z0-9]{17}\b"
)


def vehicle_id() -> EntityRecognizer:
    keys = [
        rf"(?:licen[cs]e\s+|registration\s+|motorcycle\s+|car\s+)?plates?(?:\s*{_NUM_WORD})?",
        rf"tag(?:\s*{_NUM_WORD})?",
        rf"VIN(?:\s*{_NUM_WORD})?",
        r"vehicle\s+(?:id|identification(?:\s+number)?|registration|VIN)",
    ]
    return IdRecognizer(
        "VEHICLE_ID",
        [
            Pattern("vehicle id (keyed)", keyed(keys), KEYED_SCORE),
            Pattern("vin", _VIN, 0.5),
        ],
        context=["vin", "vehicle", "plate", "car", "truck", "tag", "registration"],
        min_digits=2,
    )


_UDI_GS1 = r"\(01\)\d{14}(?:\(\d{2,4}\)[A-Z0-9]+)*"
_UDI_HIBCC = r"\+[A-Z]\d{3}[A-Z0-9]{1,18}(?:/\$\$?[+A-Z0-9]+)?"


def device_id() -> EntityRecognizer:
    keys = [
        rf"serial(?:\s*{_NUM_WORD})?",
        r"S/N",
        r"(?-i:SN)",
        rf"(?:device|transmitter|implant|equipment|sensor)\s+(?:id|identifier|serial)(?:\s*{_NUM_WORD})?",
        r"lot/serial",
        r"UDI(?:-DI)?",
        r"IMEI",
    ]
    return IdRecognizer(
        "DEVICE_ID",
        [
            Pattern("device id (keyed)", keyed(keys), KEYED_SCORE),
            Pattern("udi (gs1)", _UDI_GS1, 0.9),
            Pattern("udi (hibcc)", keyed([r"UDI"], _UDI_HIBCC), 0.9),
            loose_id("device id (weak)"),
        ],
        context=["serial", "device", "udi", "imei", "implant", "pacemaker", "pump", "sn"],
    )


# North American numbers ("(216) 555-0190", "+1 512 555 0103", "1-888-555-0177") and
# international ones with a country code ("+44 20 7946 0958").
PHONE_VALUE = (
    r"(?<![\d+])(?:"
    r"(?:\+?1[\x20.\-]?)?(?:\(\d{3}\)|\d{3})[\x20.\-]?\d{3}[\x20.\-]?\d{4}"
    r"|\+[2-9]\d{0,2}(?:[\x20.\-]?\d{2,4}){2,4}"
    r")(?!\d)"
)

# Text between "fax" and the number: no digits (so not another number) except a date.
_FAX_GAP = r"(?:[^\d\n;]|\b\d{1,4}[/.\-]\d{1,2}[/.\-]\d{2,4}\b){0,48}?"


def fax_number() -> EntityRecognizer:
    return PatternRecognizer(
        supported_entity="FAX_NUMBER",
        name="FaxNumberRecognizer",
        patterns=[
            Pattern("fax (keyed)", keyed([r"fax(?:ed|ing|es)?"], PHONE_VALUE, _FAX_GAP), 0.9)
        ],
        context=["fax", "faxed", "facsimile"],
    )


# Seven-digit local numbers ("555-0149") are too common to match alone: only after a word
# that introduces a phone number.
_LOCAL_PHONE = (
    r"(?<=\b(?i:call(?:ed)?(?:\s+back)?|phone|tel|telephone|cell|mobile|home|work|reach(?:ed)?|"
    r"text|contact|number|callback|ph)\b[^\d\n;]{0,12})(?<![\d\-])[2-9]\d{2}[\-.]\d{4}(?![\d\-])"
)


def local_phone_number() -> EntityRecognizer:
    return PatternRecognizer(
        supported_entity="PHONE_NUMBER",
        name="LocalPhoneRecognizer",
        patterns=[Pattern("local phone (keyed)", _LOCAL_PHONE, 0.6)],
        context=["call", "phone", "tel", "cell", "callback"],
    )


# An SSN written without dashes after a spelled-out key ("soc sec no 604817723"), which
# presidio's recognizer (dashes, or "ssn") does not take.
def keyed_ssn() -> EntityRecognizer:
    keys = [
        r"SSN",
        r"SS\s*#",
        r"soc(?:ial)?\.?\s*sec(?:urity)?\.?(?:\s*(?:no|num|number|#))?",
    ]
    value = r"(?<!\d)(?!000|666|9\d\d)\d{3}[\x20\-]?(?!00)\d{2}[\x20\-]?(?!0000)\d{4}(?!\d)"
    return PatternRecognizer(
        supported_entity="US_SSN",
        name="KeyedSsnRecognizer",
        patterns=[Pattern("ssn (keyed)", keyed(keys, value), KEYED_SCORE)],
        context=["ssn", "social", "security"],
    )


__all__ = [
    "DeaNumberRecognizer",
    "PHONE_VALUE",
    "account_number",
    "device_id",
    "fax_number",
    "health_plan_id",
    "keyed_ssn",
    "license_number",
    "local_phone_number",
    "medical_record_number",
    "vehicle_id",
]
