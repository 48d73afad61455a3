"""The BAA (status, acceptance, signed PDF), org settings and the audit log."""

from __future__ import annotations

import hashlib
import io
import json

from pypdf import PdfReader

from agentyard.core import audit
from agentyard.core.keys import Tenant
from agentyard.core.store import connection
from agentyard.hasp import SURFACE
from tests.hasp_ai.conftest import BAA


def test_baa_status_acceptance_and_pdf(fresh_org):
    org = fresh_org
    status = org.http.get("/v1/compliance/baa", headers=org.headers).json()["data"]
    assert status["status"] == "not_accepted" and "acceptance" not in status
    template = status["template"]
    assert template["sha256"] == hashlib.sha256(template["text"].encode()).hexdigest()

    wrong = org.http.post(
        "/v1/compliance/baa/acceptances", headers=org.headers, json={**BAA, "version": "1999-01-01"}
    )
    assert wrong.status_code == 409 and wrong.json()["error"]["details"]["current_version"]
    refused = org.http.post(
        "/v1/compliance/baa/acceptances", headers=org.headers, json={**BAA, "agree": False}
    )
    assert refused.status_code == 422  # HASP's VALIDATION_FAILED status on control endpoints

    accepted = org.accept_baa()
    status = org.http.get("/v1/compliance/baa", headers=org.headers).json()["data"]
    assert status["status"] == "accepted" and status["acceptance"]["id"] == accepted["id"]
    listed = org.http.get("/v1/compliance/baa/acceptances", headers=org.headers).json()
    assert [a["id"] for a in listed["data"]] == [accepted["id"]]
    one = org.http.get(f"/v1/compliance/baa/acceptances/{accepted['id']}", headers=org.headers)
    assert one.json()["data"] == accepted

    pdf = org.http.get(
        f"/v1/compliance/baa/acceptances/{accepted['id']}/download", headers=org.headers
    )
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    flat = " ".join(text.split())
    for expected in (
        org.name,
        BAA["signer_name"],
        BAA["signer_title"],
        BAA["signer_email"],
        template["version"],
        accepted["accepted_at"],
        template["sha256"],
        "Permitted uses and disclosures",
    ):
        assert expected in flat, expected
    assert org.message("hello").status_code == 200  # inference is allowed now


def test_another_orgs_acceptance_is_404(org, other_org):
    theirs = other_org.http.get("/v1/compliance/baa/acceptances", headers=other_org.headers)
    acceptance_id = theirs.json()["data"][0]["id"]
    for suffix in ("", "/download"):
        r = org.http.get(
            f"/v1/compliance/baa/acceptances/{acceptance_id}{suffix}", headers=org.headers
        )
        assert r.status_code == 404 and r.json()["error"]["code"] == "RESOURCE_NOT_FOUND"


def test_settings_and_opus_opt_in(org):
    assert org.message("hi", model="claude-opus-4-6").json()["error"]["code"] == "OPUS_NOT_ENABLED"
    r = org.http.patch("/v1/org/settings", headers=org.headers, json={"phi_mode": "off"})
    assert r.status_code == 422  # there is no off (422: a control endpoint)
    org.settings(opus_enabled=True)
    assert org.message("hi", model="claude-opus-4-6").status_code == 200
    got = org.http.get("/v1/org/settings", headers=org.headers).json()["data"]
    assert got == {"phi_mode": "redact", "opus_enabled": True}


def test_audit_records_actions_without_phi_and_exports_a_verifiable_chain(org):
    key = org.http.post(
        "/v1/api_keys", headers=org.headers, json={"name": "ci", "scopes": ["ai:chat"]}
    ).json()["data"]
    org.http.delete(f"/v1/api_keys/{key['id']}", headers=org.headers)
    org.http.put("/v1/usage/budget", headers=org.headers, json={"spend_cap": 10**9})
    sent = org.message("Patient Margaret Okafor, MRN 00482913").json()
    org.http.get("/v1/audit", headers={"x-api-key": org.key_with("ai:chat")})  # denied

    entries = org.http.get("/v1/audit", headers=org.headers, params={"limit": 200}).json()["data"]
    actions = [e["action"] for e in entries]
    for action in (
        "baa.accepted",
        "api_key.created",
        "api_key.revoked",
        "budget.updated",
        "ai.messages.create",
        "auth.denied",
    ):
        assert action in actions, action
    created = [e["created_at"] for e in entries]
    assert created == sorted(created, reverse=True)
    inference = next(e for e in entries if e["action"] == "ai.messages.create")
    assert inference["entity_id"] == "req_" + sent["id"][4:]
    assert inference["phi_disposition"] == "reidentified_at_delivery"
    assert "Okafor" not in json.dumps(entries) and "00482913" not in json.dumps(entries)
    only = org.http.get(
        "/v1/audit", headers=org.headers, params={"action": "api_key.revoked"}
    ).json()["data"]
    assert [e["entity_id"] for e in only] == [key["id"]]

    export = org.http.get("/v1/audit/export", headers=org.headers).json()
    keys_doc = org.http.get("/v1/audit/keys", headers=org.headers).json()
    assert export["schema_version"] == "1.0"
    assert len(export["entries"]) == export["export"]["entry_count"] >= len(entries)
    assert export["verification"]["key_id"] == keys_doc["keys"][0]["key_id"]
    anchor = export["verification"]["tsa_anchor_chain"][0]
    assert anchor["anchored_data"] == export["verification"]["chain_head_hash"]
    assert anchor["tsa_cacert_url"].endswith("/hasp-ai/v1/audit/tsa/cacert.pem")
    ca = org.http.get("/v1/audit/tsa/cacert.pem")  # public: no key
    assert ca.status_code == 200 and ca.text.startswith("-----BEGIN CERTIFICATE-----")
    with connection():
        tenant = Tenant.get((Tenant.surface == SURFACE) & (Tenant.name == org.name))
        assert audit.verify_chain(tenant).ok


def test_audit_is_org_scoped(org, other_org):
    mine = {e["id"] for e in org.http.get("/v1/audit", headers=org.headers).json()["data"]}
    theirs = {
        e["id"] for e in other_org.http.get("/v1/audit", headers=other_org.headers).json()["data"]
    }
    assert mine and theirs and not mine & theirs
