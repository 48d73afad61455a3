"""Policies over HTTP: the project policy (never looser than the org's), the org PHI policy
(THE `phi_mode` the AI gateway enforces on /hasp-ai/v1/messages) and the release floor."""

from __future__ import annotations

import httpx
import pytest

from agentyard.core import audit, keys
from agentyard.core.keys import Tenant
from agentyard.core.store import connection
from agentyard.hasp import SURFACE
from agentyard.hasp.ai import gateway
from agentyard.hasp.auth import SCOPES, new_secret
from tests.hasp_ai.conftest import BAA
from tests.hasp_studio.conftest import Client, Studio, new_project
from tests.llm.fakes import FakeAnthropic, Reply
from tests.llm.helpers import anthropic_for

NOTE = "Patient Margaret Okafor (MRN 00482913) was seen on 03/14/2026; call 617-555-0143."


def _actions(org_id: str) -> list[dict]:
    with connection():
        entries, _ = audit.query(Tenant.get_by_id(org_id), limit=200)
    return [{"action": e.action, "metadata": e.metadata} for e in entries]


def _settings(client: Client, which: str) -> str:
    return f"/orgs/{client.account.org_id}/settings/{which}"


def test_org_phi_policy_is_what_the_gateway_enforces(owner: Client, server: str) -> None:
    # The Studio org is the hasp-ai org: an API key of the same tenant calls /v1/messages.
    with connection():
        tenant = keys.find_tenant(SURFACE, owner.account.org)
        _, secret = keys.create_key(tenant, new_secret, name="gw", scopes=list(SCOPES))
    ai = httpx.Client(base_url=server + "/hasp-ai", timeout=60, headers={"x-api-key": secret})
    assert ai.post("/v1/compliance/baa/acceptances", json=BAA).status_code == 201
    message = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 32,
        "messages": [{"role": "user", "content": NOTE}],
    }
    got = owner.get(_settings(owner, "phi-policy"))
    assert got.status_code == 200 and got.json()["data"]["phi_mode"] == "redact"

    r = owner.patch(_settings(owner, "phi-policy"), json={"phi_mode": "block"})
    assert r.status_code == 200 and r.json()["data"]["phi_mode"] == "block"
    blocked = ai.post("/v1/messages", json=message)
    assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "PHI_BLOCKED"
    assert ai.get("/v1/org/settings").json()["data"]["phi_mode"] == "block"

    assert owner.patch(_settings(owner, "phi-policy"), json={"phi_mode": "redact"}).is_success
    with FakeAnthropic() as fake:
        fake.enqueue(Reply(text="Noted."))
        gateway.use_provider(anthropic_for(fake))
        try:
            redacted = ai.post("/v1/messages", json=message)
        finally:
            gateway.use_provider(None)
        sent = str(fake.requests[-1].json)
    assert redacted.status_code == 200, redacted.text
    assert "Margaret Okafor" not in sent and "[PERSON_1]" in sent
    ai.close()
    changes = [e for e in _actions(owner.account.org_id) if e["action"] == "org.phi_policy.updated"]
    assert [(c["metadata"]["before"]["phi_mode"], c["metadata"]["after"]["phi_mode"])
            for c in reversed(changes)] == [("redact", "block"), ("block", "redact")]  # fmt: skip


def test_project_policy_is_never_looser_than_the_org(owner: Client) -> None:
    pid = new_project(owner)["id"]
    got = owner.get(f"/projects/{pid}/policy").json()["data"]
    assert got == {
        "project_id": pid, "phi_mode": "redact", "phi_mode_setting": None,
        "org_phi_mode": "redact", "allowed_models": [], "retention_days": None,
        "updated_at": None,
    }  # fmt: skip
    looser = owner.patch(f"/projects/{pid}/policy", json={"phi_mode": "allow"})
    assert looser.status_code == 422
    error = looser.json()["error"]
    assert error["code"] == "PHI_POLICY_LOOSER_THAN_ORG" and "redact" in error["message"]
    assert owner.get(f"/projects/{pid}/policy").json()["data"]["phi_mode_setting"] is None

    r = owner.patch(
        f"/projects/{pid}/policy",
        json={"phi_mode": "block", "allowed_models": ["claude-haiku-4-5"], "retention_days": 30},
    )
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert (data["phi_mode"], data["allowed_models"], data["retention_days"]) == (
        "block", ["claude-haiku-4-5"], 30,
    )  # fmt: skip
    # The org loosening does not loosen the project; the org tightening tightens it.
    owner.patch(_settings(owner, "phi-policy"), json={"phi_mode": "allow"})
    assert owner.get(f"/projects/{pid}/policy").json()["data"]["phi_mode"] == "block"
    assert owner.patch(f"/projects/{pid}/policy", json={"phi_mode": None}).is_success
    assert owner.get(f"/projects/{pid}/policy").json()["data"]["phi_mode"] == "allow"
    owner.patch(_settings(owner, "phi-policy"), json={"phi_mode": "block"})
    assert owner.get(f"/projects/{pid}/policy").json()["data"]["phi_mode"] == "block"

    unknown = owner.patch(f"/projects/{pid}/policy", json={"allowed_models": ["gpt-9"]})
    assert unknown.status_code == 422 and "gpt-9" in unknown.json()["error"]["message"]
    # Opus needs the org's opt-in: not in its catalogue until then.
    opus = owner.patch(f"/projects/{pid}/policy", json={"allowed_models": ["claude-opus-4-6"]})
    assert opus.status_code == 422
    assert owner.patch(f"/projects/{pid}/policy", json={"retention_days": 0}).status_code == 422
    updates = [e for e in _actions(owner.account.org_id) if e["action"] == "policy.updated"]
    assert updates[-1]["metadata"]["after"]["retention_days"] == 30


def test_project_policy_roles_tenancy_and_archive(studio: Studio, owner: Client) -> None:
    pid = new_project(owner)["id"]
    viewer = studio.member("viewer", owner.account.org)
    assert viewer.get(f"/projects/{pid}/policy").status_code == 404  # not their project
    owner.post(
        f"/projects/{pid}/members", json={"user_id": viewer.account.user_id, "role": "viewer"}
    )
    assert viewer.get(f"/projects/{pid}/policy").status_code == 200
    refused = viewer.patch(f"/projects/{pid}/policy", json={"retention_days": 7})
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["required_role"] == "admin"
    token = studio.with_token(owner)
    assert token.patch(f"/projects/{pid}/policy", json={"retention_days": 7}).status_code == 200
    stranger = studio.member("owner")
    assert stranger.get(f"/projects/{pid}/policy").status_code == 404
    owner.delete(f"/projects/{pid}")
    archived = owner.patch(f"/projects/{pid}/policy", json={"retention_days": 9})
    assert archived.status_code == 409 and archived.json()["error"]["code"] == "PROJECT_ARCHIVED"


def test_release_policy(studio: Studio, owner: Client) -> None:
    path = _settings(owner, "release-policy")
    got = owner.get(path).json()["data"]
    assert got == {"min_approvals": 1, "allow_self_approval": False, "updated_at": None}
    r = owner.patch(path, json={"min_approvals": 2, "allow_self_approval": True})
    assert r.status_code == 200
    assert owner.get(path).json()["data"]["min_approvals"] == 2
    assert owner.patch(path, json={"min_approvals": 0}).status_code == 422
    assert owner.get(path).json()["data"]["min_approvals"] == 2
    change = [e for e in _actions(owner.account.org_id) if "release_policy" in e["action"]][0]
    assert change["metadata"]["before"]["min_approvals"] == 1
    assert change["metadata"]["after"]["min_approvals"] == 2


@pytest.mark.parametrize("which", ["phi-policy", "release-policy"])
def test_org_settings_roles_and_tenancy(studio: Studio, owner: Client, which: str) -> None:
    body = {"phi_mode": "block"} if which == "phi-policy" else {"min_approvals": 3}
    viewer = studio.member("viewer", owner.account.org)
    assert viewer.get(_settings(owner, which)).status_code == 200
    refused = viewer.patch(_settings(owner, which), json=body)
    assert refused.status_code == 403
    builder = studio.member("builder", owner.account.org)
    assert builder.patch(_settings(owner, which), json=body).status_code == 403
    admin = studio.member("admin", owner.account.org)
    assert admin.patch(_settings(owner, which), json=body).status_code == 200
    stranger = studio.member("owner")
    assert stranger.get(_settings(owner, which)).status_code == 404
    assert stranger.patch(_settings(owner, which), json=body).status_code == 404
    # Cookie without the CSRF header → 403, nothing changes.
    assert owner.patch(_settings(owner, which), json=body, csrf=False).status_code == 403
