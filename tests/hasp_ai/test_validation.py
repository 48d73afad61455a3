"""How the HASP AI surface refuses bad requests: 422 on control endpoints, Anthropic's 400 on the
compatible ones, 400 for bodies that cannot be read; and path ids looked up, never shape-checked.
"""

from __future__ import annotations

import pytest


def hasp_422(response) -> dict:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["success"] is False and body["meta"]["request_id"].startswith("req_")
    assert body["error"]["code"] == "VALIDATION_FAILED"
    assert body["error"]["type"] == "invalid_request_error" and body["error"]["message"]
    return body


def test_control_endpoints_answer_schema_failures_with_422(org):
    h = org.headers
    http = org.http
    cases = [
        http.post("/v1/api_keys", headers=h, json={"scopes": ["ai:chat"]}),  # missing name
        http.post("/v1/api_keys", headers=h, json={"name": "k", "scopes": ["ai:chat"], "x": 1}),
        http.post("/v1/api_keys", headers=h, json={"name": "k", "scopes": ["nope"]}),
        http.put("/v1/usage/budget", headers=h, json={"spend_cap": -1}),
        http.patch("/v1/org/settings", headers=h, json={"phi_mode": "off"}),
        http.get("/v1/api_keys", headers=h, params={"limit": 0}),
        http.get("/v1/audit", headers=h, params={"limit": 500}),
        http.get("/v1/webhooks", headers=h, params={"colour": "blue"}),  # unknown parameter
        http.get("/v1/audit/export", headers=h, params={"from": "yesterday"}),
        http.delete("/v1/api_keys/" + "k" * 41, headers=h),  # beyond the id's maxLength
        http.post("/v1/ai/chat", headers=h, json={"message": "hi", "temperature": 1}),
        http.post("/v1/ai/chat", headers=h, json={"message": ""}),
    ]
    for response in cases:
        hasp_422(response)
    names = [k["name"] for k in http.get("/v1/api_keys", headers=h).json()["data"]]
    assert "k" not in names  # nothing was written


def test_a_body_that_is_not_json_stays_400_on_control_endpoints(org):
    r = org.http.post(
        "/v1/api_keys",
        headers={**org.headers, "content-type": "application/json"},
        content=b'{"name": ',
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "VALIDATION_FAILED"


def test_anthropic_endpoints_keep_anthropics_400(org):
    r = org.message("hi", frequency_penalty=1)
    assert r.status_code == 400
    assert r.json()["type"] == "error"
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert r.json()["error"]["code"] == "UNSUPPORTED_PARAMETER"
    r = org.http.get("/v1/models", headers=org.headers, params={"limit": 0})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


FOREIGN_IDS = ["sess_01HX9J2N3PQRSTVWXYZ", "x", "01HX9J2N3PQRSTVWXYZ01HX9J", "a.b-c~d", "ünï"]


@pytest.mark.parametrize("some_id", FOREIGN_IDS)
def test_an_id_that_matches_nothing_is_404_whatever_its_shape(org, some_id):
    h = org.headers
    for method, path in (
        ("GET", f"/v1/ai/messages/{some_id}"),
        ("DELETE", f"/v1/api_keys/{some_id}"),
        ("GET", f"/v1/compliance/baa/acceptances/{some_id}"),
        ("GET", f"/v1/compliance/baa/acceptances/{some_id}/download"),
        ("DELETE", f"/v1/webhooks/{some_id}"),
    ):
        r = org.http.request(method, path, headers=h)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["success"] is False
        assert r.json()["error"]["code"] == "RESOURCE_NOT_FOUND"
    r = org.http.get(f"/v1/models/{some_id}", headers=h)
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"
