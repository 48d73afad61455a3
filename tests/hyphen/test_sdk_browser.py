"""The browser SDK in a real browser: headless Chromium (Debian's `chromium`, driven by
Playwright without its own browser download) opens a static page served by the test on its own
origin. With `fetch` the page starts a session with a publishable key allowing that origin,
signs in with the emailed code, lists tasks and decides one; over `EventSource` it receives
`authenticated` and `task:decided`. From an origin the key does not allow, the page's `fetch`
fails with a CORS error. Skipped where Chromium or Playwright is absent."""

from __future__ import annotations

import functools
import http.server
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hyphen.http_kit import consumer, poll, queue_name  # noqa: F401 - fixtures
from tests.hyphen.test_sdk_auth import accounts, code_for, make_key, register
from tests.hyphen.test_sdk_tasks import start
from tests.kit.server import free_port

STATIC = Path(__file__).parent / "static"
# as tests/hasp_studio/test_browser.py: AGENTYARD_CHROMIUM, else Debian's chromium
CHROMIUM = next(
    (
        path
        for path in (
            os.environ.get("AGENTYARD_CHROMIUM"),
            shutil.which("chromium"),
            "/usr/bin/chromium",
        )
        if path and Path(path).exists()
    ),
    None,
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (Debian: apt-get install chromium, or set "
    "AGENTYARD_CHROMIUM): the SDK browser test needs a real browser",
)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def pages() -> Iterator[tuple[str, str]]:
    """The static page on two origins of its own: (allowed, refused) base URLs."""
    servers = []
    for _ in range(2):
        handler = functools.partial(_Quiet, directory=str(STATIC))
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
    yield tuple(f"http://127.0.0.1:{s.server_address[1]}" for s in servers)  # type: ignore[misc]
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def account(server):
    yield from accounts(server)


def open_page(browser, origin: str, server: str):
    context = browser.new_context()
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{origin}/sdk_page.html?api={server}/hyphen")
    return context, page, console


def wait_for(page, type_: str, timeout: float = 20.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = page.evaluate("(t) => window.sdk.eventsOf(t)", type_)
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {type_} in {page.evaluate('() => window.sdk.state.events')}")


def test_a_page_signs_in_decides_a_task_and_hears_it_decided(
    server,
    account,
    consumer,  # noqa: F811
    pages,
    browser,
):
    allowed, _ = pages
    run_id = start(account, "refunds")
    key = make_key(account, allowed_origins=[allowed], allowed_workflows=["refunds"])
    email = f"amy-{secrets.token_hex(4)}@example.com"  # the dev outbox is shared: a fresh one
    register(account, key["id"], email)
    context, page, _ = open_page(browser, allowed, server)
    try:
        started = page.evaluate("(pk) => window.sdk.startSession(pk)", key["key"])
        assert started["status"] == 201, started
        assert page.evaluate("() => window.sdk.openEvents()") is True
        sent = page.evaluate("(e) => window.sdk.requestCode(e)", email)
        assert sent["status"] == 202, sent
        verified = page.evaluate("([e, c]) => window.sdk.verify(e, c)", [email, code_for(email)])
        assert verified["status"] == 200 and verified["body"]["authenticated"] is True
        signed = wait_for(page, "authenticated")
        assert signed[0]["data"]["email"] == email
        tasks = page.evaluate("() => window.sdk.tasks()")
        assert tasks["status"] == 200
        assert [t["run_id"] for t in tasks["body"]["tasks"]] == [run_id]
        task_id = tasks["body"]["tasks"][0]["id"]
        decided = page.evaluate("(id) => window.sdk.decide(id, true, 'from the browser')", task_id)
        assert decided["status"] == 200, decided
        assert decided["body"]["decided_by"] == email
        event = wait_for(page, "task:decided")[0]
        assert event["data"] == {
            "runId": run_id,
            "stepId": "0",
            "approved": True,
            "comment": "from the browser",
        }
        assert event["id"].isdigit()
        done = poll(account.engine, run_id, "completed")
        assert done["context"]["__approved"] is True
    finally:
        context.close()


def test_a_page_on_an_origin_the_key_refuses_gets_a_cors_error(server, account, pages, browser):
    allowed, refused = pages
    key = make_key(account, allowed_origins=[allowed])
    context, page, console = open_page(browser, refused, server)
    try:
        result = page.evaluate("(pk) => window.sdk.startSession(pk)", key["key"])
        assert result["error"].startswith("TypeError"), result
        deadline = time.monotonic() + 10
        while not any("CORS policy" in line for line in console):
            assert time.monotonic() < deadline, console
            time.sleep(0.05)
    finally:
        context.close()
