"""A real browser signs in: headless Chromium logs in through the login extension from page
JavaScript, then calls two routes with the session cookie and the CSRF header.

Skipped where Playwright or Chromium (`/usr/bin/chromium`, or AGENTYARD_CHROMIUM) is missing.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.hasp_studio.conftest import Studio

CHROMIUM = os.environ.get("AGENTYARD_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

SCRIPT = """
async ([email, password]) => {
  const json = {"Content-Type": "application/json"};
  const login = await fetch("../api/internal/auth/login", {
    method: "POST", headers: json, body: JSON.stringify({email, password})});
  const session = await login.json();
  const csrf = document.cookie.split("; ").find(c => c.startsWith("hasp_csrf=")).split("=")[1];
  const created = await fetch("../api/internal/projects", {
    method: "POST", headers: {...json, "X-CSRF-Token": csrf},
    body: JSON.stringify({name: "From the browser"})});
  const refused = await fetch("../api/internal/projects", {
    method: "POST", headers: json, body: JSON.stringify({name: "No CSRF header"})});
  const listed = await fetch("../api/internal/projects");
  return {
    login: login.status, sameToken: csrf === session.data.csrf_token,
    sessionVisible: document.cookie.includes("hasp_session="),
    created: created.status, refused: refused.status,
    listed: (await listed.json()).data.map(p => p.name),
  };
}
"""


def test_headless_chromium_signs_in_and_calls_two_routes(studio: Studio) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    account = studio.account("builder")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page()
            # A page of this origin under the mount: the Swagger UI the surface serves.
            page.goto(studio.base + "/ui/")
            result = page.evaluate(SCRIPT, [account.email, account.password])
        finally:
            browser.close()
    assert result == {
        "login": 200,
        "sameToken": True,
        "sessionVisible": False,  # HttpOnly: page scripts never see the session cookie
        "created": 201,
        "refused": 403,
        "listed": ["From the browser"],
    }
