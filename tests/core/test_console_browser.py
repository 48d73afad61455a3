"""The operator console in a real browser (headless Chromium): the page renders the surfaces
for anyone, the token gate refuses a wrong token and lets the operator in, and each panel shows
what the test created: a key, a request, a job, a webhook delivery with its attempt and an
inference with its PHI findings (types and counts, never the values).

Skipped where Playwright or Chromium (`/usr/bin/chromium`, or AGENTYARD_CHROMIUM) is missing.
"""

from __future__ import annotations

import os
import shutil
import time

import httpx
import pytest

from agentyard import console
from agentyard.core import jobs, keys, recent
from agentyard.core.store import connection, write
from tests.hasp_ai.conftest import make_org
from tests.hasp_ai.test_webhooks import Receiver, register

CHROMIUM = os.environ.get("AGENTYARD_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def operator_token() -> str:
    with connection(), write():
        tenant, _ = keys.get_or_create_tenant(console.SURFACE, "operator")
        _, secret = keys.create_key(tenant, console.new_secret, name="browser test")
    return secret


def test_the_console_gates_its_panels_and_shows_what_the_test_made(server, app) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    token = operator_token()
    receiver = Receiver()
    org = make_org(server)
    jobs.start_consumer(workers=1, poll_interval=0.05, scheduler_interval=0.05)
    try:
        assert register(org, receiver.url, ["ai.phi.detected"]).status_code == 201
        said = org.message("Patient Margaret Okafor, phone 415-555-0137, needs a refill")
        assert said.status_code == 200, said.text
        request_id = said.headers["request-id"]
        receiver.events(want=1)
        deadline = time.time() + 10
        while time.time() < deadline and not any(
            e["outcome"] == "succeeded" for e in recent.jobs()
        ):
            time.sleep(0.1)
        key_prefix = org.key[:16]

        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
            try:
                page = browser.new_page()
                page.goto(server + "/")
                assert page.title() == "agentyard console"
                surfaces = page.inner_text("#surfaces")
                for name in ("aisp-hub", "hasp-ai", "hasp-studio", "harnesslayer", "hyphen"):
                    assert name in surfaces
                assert page.locator("#surfaces a", has_text="Swagger UI").count() >= 5
                assert page.locator("#keys").count() == 0  # gated

                page.fill("#token", "op_not-the-token")
                page.click("#login")
                assert page.locator("#refused").count() == 1
                assert page.locator("#keys").count() == 0

                page.goto(server + "/")
                page.fill("#token", token)
                page.click("#login")
                page.wait_for_selector("#keys")
                assert key_prefix in page.inner_text("#keys")
                assert request_id in page.inner_text("#requests")
                assert "succeeded" in page.inner_text("#jobs")
                deliveries = page.inner_text("#deliveries")
                assert "ai.phi.detected" in deliveries and "#1 204" in deliveries
                inferences = page.inner_text("#hasp-ai-inferences")
                assert request_id in inferences and "PERSON" in inferences
                assert "Okafor" not in page.content() and "415-555" not in page.content()
                assert token not in page.content()
                cookies = page.context.cookies()
                assert any(c["name"] == console.COOKIE and c["httpOnly"] for c in cookies)

                page.click("#logout")
                page.wait_for_selector("#login")
                assert page.locator("#keys").count() == 0
            finally:
                browser.close()
    finally:
        jobs.stop_consumer()
        receiver.server.close()
        org.http.close()
    # the page without the cookie shows no panel behind the gate
    assert "id='keys'" not in httpx.get(server + "/").text
