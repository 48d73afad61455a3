"""The Business Associate Agreement: template, acceptances and the signed PDF."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from agentyard.core import clock, ids, paging
from agentyard.core.errors import ApiError
from agentyard.core.keys import Tenant
from agentyard.core.store import write
from agentyard.core.tenancy import find_in_tenant
from agentyard.hasp import cursors, events, urls
from agentyard.hasp.auth import Caller
from agentyard.hasp.models import BaaAcceptance

VERSION = "2026-04-01"
TEMPLATE = """\
BUSINESS ASSOCIATE AGREEMENT

This Business Associate Agreement ("Agreement") is entered into between the organization named \
below ("Covered Entity") and the operator of this agentyard HASP AI gateway ("Business \
Associate"), and governs the Business Associate's creation, receipt, maintenance and \
transmission of Protected Health Information ("PHI") on behalf of the Covered Entity.

1. Definitions. Terms used but not defined in this Agreement have the meanings given in the \
HIPAA Rules, 45 C.F.R. Parts 160 and 164.

2. Permitted uses and disclosures. Business Associate may use or disclose PHI only to provide \
the inference, storage and compliance services described in the API documentation, or as \
required by law.

3. Safeguards. Business Associate shall use appropriate administrative, physical and technical \
safeguards, and comply with Subpart C of 45 C.F.R. Part 164 with respect to electronic PHI, to \
prevent use or disclosure of PHI other than as provided by this Agreement. PHI is scanned and \
replaced by placeholders before any content reaches an upstream model provider unless the \
Covered Entity configures otherwise.

4. Reporting. Business Associate shall report to Covered Entity any use or disclosure of PHI \
not provided for by this Agreement, including breaches of unsecured PHI, without unreasonable \
delay and in no case later than 60 days after discovery.

5. Subcontractors. Business Associate shall ensure that any subcontractor that creates, \
receives, maintains or transmits PHI on its behalf agrees to the same restrictions and \
conditions.

6. Access, amendment and accounting. Business Associate shall make PHI and the information \
required for an accounting of disclosures available as required by 45 C.F.R. 164.524, \
164.526 and 164.528.

7. Audit. Business Associate keeps a tamper-evident, signed audit log of security-relevant \
actions and makes it available to the Covered Entity.

8. Term and termination. This Agreement remains in effect until terminated. On termination \
Business Associate shall return or destroy all PHI received from Covered Entity, where \
feasible.

9. Acceptance. The signer accepts this Agreement on behalf of the Covered Entity and states \
that they are authorized to do so.
"""
SHA256 = hashlib.sha256(TEMPLATE.encode()).hexdigest()


def template() -> dict[str, str]:
    return {"version": VERSION, "text": TEMPLATE, "sha256": SHA256}


def view(row: BaaAcceptance) -> dict[str, Any]:
    return {
        "id": row.id,
        "version": row.version,
        "signer_name": row.signer_name,
        "signer_title": row.signer_title,
        "signer_email": row.signer_email,
        "accepted_at": clock.iso(row.accepted_at),
        "template_sha256": row.template_sha256,
        "download_url": urls.path(f"/v1/compliance/baa/acceptances/{row.id}/download"),
    }


def current_acceptance(org: Tenant) -> BaaAcceptance | None:
    return (
        BaaAcceptance.select()
        .where((BaaAcceptance.tenant == org) & (BaaAcceptance.version == VERSION))
        .order_by(BaaAcceptance.accepted_at.desc())
        .first()
    )


# Orgs this process has seen accept the current BAA: an acceptance is never withdrawn, so the
# gateway reads it from the store only until it is there.
_ACCEPTED: set[str] = set()


def require_accepted(org: Tenant) -> None:
    """402 BAA_REQUIRED unless the org accepted the current BAA."""
    if org.id in _ACCEPTED:
        return
    if current_acceptance(org) is not None:
        _ACCEPTED.add(org.id)
    else:
        raise ApiError(
            402,
            "BAA_REQUIRED",
            "An accepted Business Associate Agreement is required: accept it with "
            f"POST {urls.path('/v1/compliance/baa/acceptances')} (Settings → Compliance on HASP)",
        )


def status(org: Tenant) -> dict[str, Any]:
    accepted = current_acceptance(org)
    out = {
        "status": "accepted" if accepted else "not_accepted",
        "current_version": VERSION,
        "template": template(),
    }
    if accepted:
        out["acceptance"] = view(accepted)
    return out


def accept(caller: Caller, body: dict[str, Any]) -> BaaAcceptance:
    if body["version"] != VERSION:
        raise ApiError(
            409,
            "CONFLICT",
            f"BAA version {body['version']} is not the current version {VERSION}",
            details={"current_version": VERSION},
        )
    with write():
        row = BaaAcceptance.create(
            id=ids.new_id("baa"),
            tenant=caller.org,
            version=VERSION,
            signer_name=body["signer_name"],
            signer_title=body["signer_title"],
            signer_email=body["signer_email"],
            template_sha256=SHA256,
            accepted_at=clock.now(),
        )
        events.emit(caller, "baa.accepted", "baa_acceptance", row.id, {"version": VERSION})
    return row


def find(org: Tenant, acceptance_id: str) -> BaaAcceptance:
    return find_in_tenant(BaaAcceptance, acceptance_id, org, what="BAA acceptance")


def list_page(org: Tenant, cursor: str | None, limit: int) -> tuple[list[Any], str | None, bool]:
    query = BaaAcceptance.select().where(BaaAcceptance.tenant == org)
    rows, after, more = paging.newest_first(
        query, BaaAcceptance.accepted_at, BaaAcceptance.id, cursors.rows_to_core(cursor), limit
    )
    return rows, cursors.rows_from_core(after), more


def _latin1(text: str) -> str:
    """The PDF's core font is Latin-1: other characters print as '?'."""
    return text.encode("latin-1", "replace").decode("latin-1")


def pdf(org: Tenant, row: BaaAcceptance) -> bytes:
    """The signed agreement as a PDF (deterministic for a given acceptance)."""
    from fpdf import FPDF  # ~0.2 s to import: only when a PDF is rendered

    doc = FPDF(format="A4")
    doc.set_creation_date(row.accepted_at.replace(tzinfo=dt.UTC))
    doc.set_title(f"BAA {row.version} - {org.name}")
    doc.add_page()
    doc.set_font("helvetica", "B", 14)
    title = _latin1(f"Business Associate Agreement, version {row.version}")
    doc.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    doc.set_font("helvetica", size=10)
    for line in (
        f"Organization: {org.name} ({org.id})",
        f"Signed by: {row.signer_name}, {row.signer_title} <{row.signer_email}>",
        f"Accepted at: {clock.iso(row.accepted_at)}",
        f"Acceptance id: {row.id}",
        f"Template SHA-256: {row.template_sha256}",
    ):
        doc.multi_cell(0, 6, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    doc.ln(4)
    for paragraph in TEMPLATE.split("\n\n"):
        doc.multi_cell(0, 5, _latin1(paragraph.strip()), new_x="LMARGIN", new_y="NEXT")
        doc.ln(2)
    return bytes(doc.output())
