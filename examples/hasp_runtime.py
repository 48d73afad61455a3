"""HASP runtime (A2A) end to end: the org's published agent-callable workflow, called by another
agent through the official A2A client (`a2a-sdk`), unchanged.

    pip install a2a-sdk httpx                  # (both come with `pip install -e ".[dev]"`)
    python examples/hasp_runtime.py [wa_live_...]  # or HASP_RUNTIME_KEY: an API key of the org
                                                   # example-hasp-studio with `workflow:invoke`;
                                                   # else one is minted

First publishes the Studio example's workflow (`hasp_studio.publish`: members, a project, the
`admit` workflow with an `agent` trigger, a release approved and deployed), then reads the org's
`/.well-known/agents.json`, resolves the workflow's Agent Card with `A2ACardResolver`, sends it a
message (`message/send`) and prints the task's artifact.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
from _kit import BASE, expect, key, step
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.types import DataPart, Message, Part, Role, Task
from hasp_studio import ORG, publish


async def call(endpoint: str, api_key: str, data: dict[str, Any]) -> Task:
    """Resolve the Agent Card under `endpoint` and send `data` as one message; the final task."""
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(headers=headers, timeout=90) as http:
        card = await A2ACardResolver(http, endpoint).get_agent_card()
        step(f"agent card: {card.name} v{card.version}, {card.url}")
        client = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(card)
        message = Message(
            role=Role.user, parts=[Part(root=DataPart(data=data))], message_id=secrets.token_hex(8)
        )
        task = None
        async for event in client.send_message(message):
            if isinstance(event, tuple):
                task = event[0]
    if task is None:
        raise SystemExit("message/send answered no task")
    return task


def main() -> None:
    shipped = publish(ORG)
    api_key = key("hasp-ai", "HASP_RUNTIME_KEY", tenant=ORG, scopes="workflow:invoke")
    runtime = f"{BASE}/hasp-runtime/{ORG}"
    agents = expect(httpx.get(f"{runtime}/.well-known/agents.json", timeout=60), 200)["agents"]
    step(f"agents.json: {len(agents)} agent-callable workflows in {ORG}")
    (agent,) = [a for a in agents if a["project"] == shipped.project["slug"]]
    step(f"  {agent['project']}/{agent['workflow']}: {agent['endpoint']}")

    task = asyncio.run(call(agent["endpoint"], api_key, {"name": "Cy"}))
    step(f"task {task.id}: {task.status.state.value}")
    if task.status.state.value != "completed" or not task.artifacts:
        raise SystemExit(f"task {task.id} ended {task.status.state.value} without an artifact")
    for part in task.artifacts[0].parts:
        step(f"  artifact: {part.root.model_dump(exclude_none=True)}")
    step("done")


if __name__ == "__main__":
    main()
