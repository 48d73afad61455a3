"""A PHI finding (entity type + character span + score) and overlap resolution."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One detected PHI span: ``text[start:end]`` is of ``entity_type`` with ``score``."""

    entity_type: str
    start: int
    end: int
    score: float

    @property
    def length(self) -> int:
        return self.end - self.start

    def overlaps(self, other: Finding) -> bool:
        return self.start < other.end and other.start < self.end


# Tie-break between equally scored, equally long spans: labelled/specific types first, then
# generic number formats, then NER names and places.
_PRIORITY = {
    t: i
    for i, t in enumerate(
        [
            "US_SSN",
            "MEDICAL_RECORD_NUMBER",
            "HEALTH_PLAN_ID",
            "LICENSE_NUMBER",
            "VEHICLE_ID",
            "DEVICE_ID",
            "FAX_NUMBER",
            "EMAIL_ADDRESS",
            "URL",
            "IP_ADDRESS",
            "DATE",
            "AGE_OVER_89",
            "ZIP_CODE",
            "STREET_ADDRESS",
            "ACCOUNT_NUMBER",
            "PHONE_NUMBER",
            "US_ITIN",
            "US_PASSPORT",
            "PERSON",
            "LOCATION",
        ]
    )
}
# A finding inside one of these is part of it ("...?mrn=123" inside a URL).
_CONTAINERS = {"URL", "EMAIL_ADDRESS"}


def _rank(f: Finding) -> tuple:
    return (
        -f.score,
        -f.length,
        f.start,
        _PRIORITY.get(f.entity_type, len(_PRIORITY)),
        f.entity_type,
    )


def resolve_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Keep a non-overlapping subset, sorted by position.

    Deterministic: a finding inside a URL or e-mail address is dropped; then findings are
    taken greedily by higher score, then longer span, then earlier start, then entity-type
    priority; a finding overlapping one already kept is dropped.
    """
    findings = list(findings)
    containers = [f for f in findings if f.entity_type in _CONTAINERS]
    if containers:
        findings = [
            f
            for f in findings
            if not any(
                c is not f and c.start <= f.start and f.end <= c.end and c.length > f.length
                for c in containers
            )
        ]
    kept: list[Finding] = []
    for f in sorted(findings, key=_rank):
        if f.length > 0 and not any(f.overlaps(k) for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: (f.start, f.end))
