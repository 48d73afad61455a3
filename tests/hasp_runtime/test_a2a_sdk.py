"""The official A2A client (`a2a-sdk`, PyPI) against a live `agentyard serve --surface
hasp-runtime`, unchanged: it resolves the Agent Card, sends a message, streams one, gets a task
and cancels one.

The runtime served alone takes the org from the Host's subdomain (`default.localhost:<port>`).
`*.localhost` does not resolve on every machine, so the client's httpx transport connects to
127.0.0.1 while the URLs, and so the `Host` header, keep the org's name.

Setup: a combined `agentyard serve` on the same data dir first (its dev org `default`, the
Studio owner who writes the workflows, the org's API key holding every scope), then the project
is published directly (tests.hasp_studio.publishing) and the combined server stopped.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.types import DataPart, Message, Part, Role, Task, TaskIdParams, TaskQueryParams, TaskState

from tests.hasp_runtime.conftest import ECHO, REVIEW
from tests.kit.server import free_port

ROOT = Path(__file__).resolve().parents[2]
HASP_KEY = re.compile(r"\b(?:wa_live_|hasp_key_live_)[0-9a-f]{32}\b")
STUDIO_OWNER = re.compile(r"hasp-studio: org '[^']*', owner (\S+) password (\S+)")
ORG = "default"  # the dev org of the first start


@dataclass
class Serving:
    """A running `agentyard serve` (started by this module, stopped by its handle)."""

    process: subprocess.Popen[str]
    base: str
    output: list[str] = field(default_factory=list)

    def printed(self) -> str:
        return "".join(self.output)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def serve(env: dict[str, str], *args: str, ready: str) -> Serving:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "agentyard.cli", "serve", "--port", str(port), *args],
        env=env,
        cwd=env["AGENTYARD_DATA_DIR"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = Serving(process, f"http://127.0.0.1:{port}")

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            running.output.append(line)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited {process.returncode}:\n{running.printed()}")
        try:
            if httpx.get(running.base + ready, timeout=2).status_code == 200:
                return running
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            running.stop()
            raise RuntimeError(f"serve did not answer:\n{running.printed()}")
        time.sleep(0.2)


@dataclass
class Published:
    port: int
    key: str
    echo: tuple[str, str]
    review: tuple[str, str]

    @property
    def origin(self) -> str:
        return f"http://{ORG}.localhost:{self.port}"


def _workflow(http: httpx.Client, csrf: str, project_id: str, name: str, definition: dict) -> str:
    r = http.post(
        f"/hasp-studio/api/internal/projects/{project_id}/workflows",
        headers={"X-CSRF-Token": csrf},
        json={"name": name, "definition": definition},
    )
    assert r.status_code == 201, r.text
    return r.json()["data"]["slug"]


def _author(combined: Serving) -> tuple[str, str, str, str]:
    """Through the combined server: the org's key, PHI policy `allow` (the offline model calls
    need no scanner), a project with two agent workflows; (key, project id, slugs...)."""
    key = HASP_KEY.search(combined.printed())
    owner = STUDIO_OWNER.search(combined.printed())
    assert key is not None and owner is not None, combined.printed()
    with httpx.Client(base_url=combined.base, timeout=60) as http:
        r = http.patch(
            "/hasp-ai/v1/org/settings", headers={"x-api-key": key.group(0)},
            json={"phi_mode": "allow"},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        r = http.post(
            "/hasp-studio/api/internal/auth/login",
            json={"email": owner.group(1), "password": owner.group(2)},
        )
        assert r.status_code == 200, r.text
        csrf = r.json()["data"]["csrf_token"]
        r = http.post(
            "/hasp-studio/api/internal/projects",
            headers={"X-CSRF-Token": csrf},
            json={"name": "Care", "slug": "care"},
        )
        assert r.status_code == 201, r.text
        project_id = r.json()["data"]["id"]
        echo = _workflow(http, csrf, project_id, "Echo", ECHO)
        review = _workflow(http, csrf, project_id, "Review", REVIEW)
    return key.group(0), project_id, echo, review


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    data_dir = tmp_path_factory.mktemp("runtime-live")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTYARD_")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(
        AGENTYARD_DATA_DIR=str(data_dir),
        AGENTYARD_LLM_PROVIDER="offline",
        AGENTYARD_HASP_REQUESTS_PER_MINUTE="1000000",
        AGENTYARD_JOBS_QUEUE=f"runtime-live-{secrets.token_hex(4)}",
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    combined = serve(env, ready="/")
    try:
        key, project_id, echo, review = _author(combined)
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from agentyard.config import Settings; "
                "from agentyard.core import runtime; runtime.configure(Settings.from_env()); "
                "from tests.hasp_studio.publishing import publish; publish(sys.argv[1])",
                project_id,
            ],
            env=env,
            cwd=ROOT,
            check=True,
            timeout=120,
        )
    finally:
        combined.stop()
    alone = serve(env, "--surface", "hasp-runtime", ready="/openapi.json")
    try:
        port = int(alone.base.rsplit(":", 1)[1])
        yield Published(port, key, ("care", echo), ("care", review))
    finally:
        alone.stop()


class Loopback(httpx.AsyncBaseTransport):
    """Connects every request to 127.0.0.1 on its port; the URL's host stays the Host header."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(host="127.0.0.1")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def http_client(key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=Loopback(), headers={"Authorization": f"Bearer {key}"}, timeout=90
    )


def user_message(data: dict) -> Message:
    return Message(
        role=Role.user, parts=[Part(root=DataPart(data=data))], message_id=secrets.token_hex(8)
    )


async def _last_task(client, message: Message) -> Task:
    task = None
    async for event in client.send_message(message):
        assert isinstance(event, tuple), event
        task = event[0]
    assert task is not None
    return task


def test_card_send_stream_get(published: Published) -> None:
    async def scenario() -> None:
        endpoint = f"{published.origin}/a2a/{published.echo[0]}/{published.echo[1]}"
        async with http_client(published.key) as http:
            org_card = await A2ACardResolver(http, published.origin).get_agent_card()
            assert {s.id for s in org_card.skills} == {
                "/".join(published.echo),
                "/".join(published.review),
            }
            card = await A2ACardResolver(http, endpoint).get_agent_card()
            assert card.url == endpoint and card.capabilities.streaming
            plain = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(card)
            task = await _last_task(plain, user_message({"note": "sprained ankle"}))
            assert task.status.state == TaskState.completed, task
            assert task.artifacts and task.artifacts[0].parts[0].root.data["note"] == (
                "sprained ankle"
            )
            got = await plain.get_task(TaskQueryParams(id=task.id))
            assert got.id == task.id and got.status.state == TaskState.completed
            streaming = ClientFactory(ClientConfig(httpx_client=http, streaming=True)).create(card)
            streamed = await _last_task(streaming, user_message({"note": "knee"}))
            assert streamed.status.state == TaskState.completed, streamed
            assert streamed.artifacts and streamed.artifacts[0].parts[0].root.data["note"] == "knee"

    asyncio.run(scenario())


def test_input_required_then_cancel(published: Published) -> None:
    async def scenario() -> None:
        endpoint = f"{published.origin}/a2a/{published.review[0]}/{published.review[1]}"
        async with http_client(published.key) as http:
            card = await A2ACardResolver(http, endpoint).get_agent_card()
            client = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(card)
            task = await _last_task(client, user_message({"patient": "p-1"}))
            assert task.status.state == TaskState.input_required, task
            canceled = await client.cancel_task(TaskIdParams(id=task.id))
            assert canceled.status.state == TaskState.canceled

    asyncio.run(scenario())
