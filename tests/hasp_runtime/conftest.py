"""The org runtime under test: an org with a Studio owner, a published agent-callable
workflow, API keys, and a JSON-RPC client of `/hasp-runtime/{org}/...`."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from agentyard.core import jobs
from agentyard.core.keys import Tenant
from agentyard.core.store import connection
from agentyard.hasp import SURFACE as ORGS
from agentyard.hasp import orgs
from agentyard.hasp.runtime import SURFACE
from tests.hasp_studio.conftest import Client, Studio, new_project, owner, studio  # noqa: F401
from tests.hasp_studio.publishing import publish
from tests.kit.tenants import make_key

MOUNT = "/hasp-runtime"

# Three model calls through the offline provider; the input is checked against its schema.
ECHO = {
    "trigger": {
        "type": "agent",
        "description": "Summarise a note",
        "input_schema": {
            "type": "object",
            "required": ["note"],
            "properties": {"note": {"type": "string"}},
        },
    },
    "steps": [
        {"id": "first", "type": "ai_chat", "prompt": "Summarise {{ input.note }}"},
        {"id": "second", "type": "ai_chat", "prompt": "Shorten {{ first.text }}"},
        {"id": "third", "type": "ai_chat", "prompt": "Title {{ second.text }}"},
    ],
    "output": {"note": "@input.note", "summary": "@second.text"},
}

# Pauses at an approval, then answers the decision.
REVIEW = {
    "trigger": {"type": "agent", "description": "Needs a human"},
    "steps": [{"id": "review", "type": "approval", "title": "Approve the discharge"}],
    "output": {"approved": "@review.approved", "comment": "@review.comment"},
}


@dataclass
class Runtime:
    """An org on the live server, with its owner and helpers for its runtime."""

    server: str
    org: str
    owner: Client
    http: httpx.Client

    def url(self, path: str, org: str | None = None) -> str:
        return f"{self.server}{MOUNT}/{org or self.org}{path}"

    def key(self, *scopes: str, org: str | None = None) -> str:
        return make_key(SURFACE, org or self.org, scopes=list(scopes) or None).secret

    def agent(self, definition: dict[str, Any], name: str = "Echo", publish_it: bool = True):
        """A project with one workflow (published unless told); (project slug, workflow slug)."""
        project = new_project(self.owner)
        r = self.owner.post(
            f"/projects/{project['id']}/workflows", json={"name": name, "definition": definition}
        )
        assert r.status_code == 201, r.text
        if publish_it:
            publish(project["id"])
        return project["slug"], r.json()["data"]["slug"]

    def rpc(
        self,
        endpoint: tuple[str, str],
        method: str,
        params: dict[str, Any] | None = None,
        *,
        key: str | None,
        headers: dict[str, str] | None = None,
        id: Any = 1,
    ) -> httpx.Response:
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            body["params"] = params
        h = dict(headers or {})
        if key:
            h["Authorization"] = f"Bearer {key}"
        return self.http.post(self.url(f"/a2a/{endpoint[0]}/{endpoint[1]}"), json=body, headers=h)


def message(data: dict[str, Any] | None = None, text: str | None = None, **extra) -> dict:
    parts: list[dict[str, Any]] = []
    if data is not None:
        parts.append({"kind": "data", "data": data})
    if text is not None:
        parts.append({"kind": "text", "text": text})
    return {
        "message": {
            "role": "user",
            "kind": "message",
            "messageId": secrets.token_hex(8),
            "parts": parts,
            **extra,
        }
    }


def allow_phi(org: str) -> None:
    """The offline model calls need no PHI scanner (which takes seconds to start)."""
    with connection():
        orgs.update(
            Tenant.get((Tenant.surface == ORGS) & (Tenant.name == org)), {"phi_mode": "allow"}
        )


@pytest.fixture
def consumer(app):
    """Background jobs (the runs) in this process."""
    jobs.start_consumer(workers=2, poll_interval=0.05, scheduler_interval=0.05)
    yield
    jobs.stop_consumer()


@pytest.fixture
def rt(server: str, studio: Studio, consumer) -> Iterator[Runtime]:  # noqa: F811
    owner_client = studio.member("owner")
    assert owner_client.account is not None
    allow_phi(owner_client.account.org)
    with httpx.Client(timeout=90) as http:
        yield Runtime(server, owner_client.account.org, owner_client, http)
