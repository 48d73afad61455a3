"""Public discovery of an org's agents: HASP's `agents.json` manifest and A2A Agent Cards.

Both list the org's agent-callable workflows of published releases
(`contract_versions.agent_callable`); URLs are absolute, built from the URL the client asked.

A v0.3 Agent Card has one `url`, the JSON-RPC endpoint its client calls. So:
- `agent_card(op, workflow)`: the card of ONE workflow, served at
  `/a2a/{project_slug}/{workflow_slug}/.well-known/agent-card.json` — an A2A client resolving the
  card with the workflow's endpoint as its base URL gets a card whose `url` is that endpoint;
- `agent_card(op)`: the org's card (`/.well-known/agent-card.json`, and `/.well-known/agent.json`
  for older clients): every workflow is a skill (id `<project_slug>/<workflow_slug>`), `url` is
  the first workflow's endpoint (the org has no endpoint of its own) and `additionalInterfaces`
  lists every endpoint in skill order; `agents.json` maps each workflow to its endpoint.
"""

from __future__ import annotations

from typing import Any

from agentyard.core.errors import ApiError
from agentyard.hasp.runtime.place import OrgPlace
from agentyard.hasp.studio import contract_versions
from agentyard.hasp.studio.contract_versions import PublishedWorkflow

PROTOCOL_VERSION = "0.3.0"
SCOPE = "workflow:invoke"
MODES = ["application/json", "text/plain"]


def endpoint_path(wf: PublishedWorkflow) -> str:
    return f"/a2a/{wf.project_slug}/{wf.slug}"


def agents(op: OrgPlace) -> list[PublishedWorkflow]:
    """The org's agent-callable workflows of published releases."""
    return contract_versions.agent_callable(op.org.id)


def workflow(op: OrgPlace, project_slug: str, workflow_slug: str) -> PublishedWorkflow:
    """The published agent-callable workflow at the endpoint; 404 `AGENT_NOT_FOUND` for an
    unknown slug, an unpublished workflow or one that is not agent-callable."""
    wf = contract_versions.published_by_slug(op.org.id, project_slug, workflow_slug)
    if wf is None or not wf.agent_callable:
        raise ApiError(
            404,
            "AGENT_NOT_FOUND",
            f"No published agent-callable workflow {project_slug}/{workflow_slug} here",
        )
    return wf


def manifest(op: OrgPlace) -> dict[str, Any]:
    """`/.well-known/agents.json`."""
    return {
        "organization": op.org.name,
        "protocol": "a2a",
        "protocol_version": PROTOCOL_VERSION,
        "agent_card_url": op.url("/.well-known/agent-card.json"),
        "agents": [
            {
                "name": wf.name,
                "project": wf.project_slug,
                "workflow": wf.slug,
                "description": wf.description or wf.name,
                "input_schema": wf.input_schema,
                "endpoint": op.url(endpoint_path(wf)),
                "agent_card_url": op.url(endpoint_path(wf) + "/.well-known/agent-card.json"),
                "methods": [
                    "invoke",
                    "message/send",
                    "message/stream",
                    "tasks/get",
                    "tasks/cancel",
                ],
                "release": {"id": wf.release_id, "number": wf.release_number},
                "auth": {
                    "type": "bearer",
                    "scheme": "Bearer",
                    "credential": "an API key of this organization",
                    "required_scope": SCOPE,
                },
            }
            for wf in agents(op)
        ],
    }


def _skill(wf: PublishedWorkflow) -> dict[str, Any]:
    return {
        "id": f"{wf.project_slug}/{wf.slug}",
        "name": wf.name,
        "description": wf.description or wf.name,
        "tags": [wf.project_slug, "workflow"],
        "inputModes": MODES,
        "outputModes": ["application/json"],
    }


def agent_card(op: OrgPlace, wf: PublishedWorkflow | None = None) -> dict[str, Any]:
    """A v0.3 Agent Card: of one workflow, or of the org (see the module docstring)."""
    listed = [wf] if wf is not None else agents(op)
    urls = [op.url(endpoint_path(w)) for w in listed]
    name = f"{op.org.name}: {wf.name}" if wf is not None else op.org.name
    description = (
        (wf.description or wf.name)
        if wf is not None
        else f"The agent-callable workflows {op.org.name} published on HASP."
    )
    return {
        "protocolVersion": PROTOCOL_VERSION,
        "name": name,
        "description": description,
        # An org that published no agent yet still has a card; its url answers AGENT_NOT_FOUND.
        "url": urls[0] if urls else op.url("/a2a"),
        "preferredTransport": "JSONRPC",
        "additionalInterfaces": [{"url": u, "transport": "JSONRPC"} for u in urls],
        "version": str(wf.release_number) if wf is not None else "1",
        "provider": {"organization": op.org.name, "url": op.url("/.well-known/agents.json")},
        "capabilities": {
            "streaming": True,
            "pushNotifications": False,
            "stateTransitionHistory": False,
        },
        "defaultInputModes": MODES,
        "defaultOutputModes": ["application/json"],
        "skills": [_skill(w) for w in listed],
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": f"An API key of {op.org.name} holding the {SCOPE} scope",
            }
        },
        "security": [{"bearer": [SCOPE]}],
        "supportsAuthenticatedExtendedCard": False,
    }
