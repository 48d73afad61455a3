"""HASP Studio end to end: two members sign in (session cookie + X-CSRF-Token), build a project
(an entity, a record, an agent-callable workflow whose steps create and query records), ship it
(a release requested by the owner, approved by a reviewer, deployed), run the published
workflow, poll the run to its end and read its trace.

    pip install httpx                # (comes with `pip install -e ".[dev]"`)
    python examples/hasp_studio.py   # on the server's machine: members are made with
                                     # `agentyard users create` (same AGENTYARD_DATA_DIR /
                                     # DATABASE_URL as the server), in the org example-hasp-studio

Each run makes new members (the email ends in a random suffix) and a new project, so the
script can be run again on the same store.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
from _kit import BASE, agentyard, expect, step

ORG = "example-hasp-studio"
STUDIO = f"{BASE}/hasp-studio/api/internal"
FINISHED = {"completed", "failed", "cancelled", "condition_not_met"}

# Called by agents (A2A, see hasp_runtime.py) or started from Studio: admits a patient (a record)
# and answers how many patients of that name the project now holds.
ADMIT = {
    "trigger": {
        "type": "agent",
        "description": "Admit a patient by name; answers how many share it",
        "input_schema": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}},
        },
    },
    "steps": [
        {
            "id": "make",
            "type": "record_create",
            "entity": "patient",
            "values": {"name": "@input.name"},
        },
        {
            "id": "find",
            "type": "record_query",
            "entity": "patient",
            "where": {"name": "@input.name"},
        },
    ],
    "output": {"name": "@input.name", "patients_named": "@find.count"},
}


@dataclass
class Published:
    """What `publish` shipped: the org, its members' clients, the project and the workflow."""

    org: str
    owner: httpx.Client
    reviewer: httpx.Client
    project: dict[str, Any]
    workflow: dict[str, Any]


def member(org: str, role: str, suffix: str) -> httpx.Client:
    """A new member of `org` with `role` (`agentyard users create` prints the first password),
    signed in: the client keeps the session cookie and sends the CSRF token on every request."""
    email = f"{role}-{suffix}@studio.example"
    password = agentyard(
        "users",
        "create",
        "--surface",
        "hasp-studio",
        "--org",
        org,
        "--email",
        email,
        "--role",
        role,
    )
    client = httpx.Client(base_url=STUDIO, timeout=60)
    login = expect(client.post("/auth/login", json={"email": email, "password": password}), 200)
    client.headers["X-CSRF-Token"] = login["data"]["csrf_token"]
    step(f"{role} {email} signed in (agentyard users create, POST /auth/login)")
    return client


def publish(org: str = ORG) -> Published:
    """Build a project with the ADMIT workflow in `org` and ship it: request, approve, deploy."""
    suffix = secrets.token_hex(3)
    owner, reviewer = member(org, "owner", suffix), member(org, "reviewer", suffix)

    body: dict[str, Any] = {"name": f"Intake {suffix}", "slug": f"intake-{suffix}"}
    project = expect(owner.post("/projects", json=body), 201)["data"]
    step(f"project {project['slug']}: {project['id']}")
    reviewer_id = expect(reviewer.get("/auth/me"), 200)["data"]["user"]["id"]
    grant = {"user_id": reviewer_id, "role": "reviewer"}
    expect(owner.post(f"/projects/{project['id']}/members", json=grant), 201)
    step("  reviewer added to the project")

    fields = [
        {"name": "name", "type": "string", "required": True},
        {"name": "age", "type": "integer"},
    ]
    body = {"key": "patient", "name": "Patient", "fields": fields}
    entity = expect(owner.post(f"/projects/{project['id']}/entities", json=body), 201)["data"]
    record = expect(
        owner.post(f"/entities/{entity['id']}/records", json={"data": {"name": "Ann", "age": 41}}),
        201,
    )["data"]
    step(f"entity patient: {entity['id']}, record {record['id']}")

    body = {"name": "Admit", "slug": "admit", "definition": ADMIT}
    workflow = expect(owner.post(f"/projects/{project['id']}/workflows", json=body), 201)["data"]
    step(f"workflow admit (agent trigger): {workflow['id']}")

    release = expect(owner.post(f"/projects/{project['id']}/releases", json={}), 201)["data"]
    step(f"release {release['number']} requested by the owner: {release['state']}")
    approved = expect(reviewer.post(f"/releases/{release['id']}/approve", json={}), 200)["data"]
    step(f"  approved by the reviewer: {approved['state']}")
    deployed = expect(owner.post(f"/releases/{release['id']}/deploy"), 200)["data"]
    step(f"  deployed by the owner: {deployed['state']}")
    return Published(org, owner, reviewer, project, workflow)


def finished_run(client: httpx.Client, workflow_id: str, run_id: str) -> dict[str, Any]:
    """Poll the workflow's runs until `run_id` has ended (at most a minute)."""
    deadline = time.monotonic() + 60
    while True:
        runs = expect(client.get(f"/workflows/{workflow_id}/runs"), 200)["data"]
        run = next(r for r in runs if r["id"] == run_id)
        if run["status"] in FINISHED:
            return run
        if time.monotonic() > deadline:
            raise SystemExit(f"run {run_id} still {run['status']} after a minute")
        time.sleep(0.5)


def main() -> None:
    shipped = publish()
    owner, workflow_id = shipped.owner, shipped.workflow["id"]
    body = {"input": {"name": "Bo"}}
    started = expect(owner.post(f"/workflows/{workflow_id}/runs", json=body), 201)["data"]
    step(f"run {started['id']} started: {started['status']}, release {started['release_id']}")
    run = finished_run(owner, workflow_id, started["id"])
    step(f"  {run['status']} in {run['duration_ms']} ms")
    if run["status"] != "completed":
        raise SystemExit(f"run {run['id']} ended {run['status']}")

    trace = expect(owner.get(f"/traces/{run['id']}"), 200)["data"]
    steps = ", ".join(f"{s['path']} ({s['type']})" for s in trace["steps"])
    step(f"trace {trace['id']}: {trace['status']}, steps {steps}")
    step(f"  output: {trace['output']}")
    step("done")


if __name__ == "__main__":
    main()
