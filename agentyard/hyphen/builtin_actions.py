"""`GET /builtin-actions`: the tools every agent has without declaring them, with their input
schemas, then the built-in OAuth business tools (`agentyard.hyphen.oauth_tools`)."""

from __future__ import annotations

from typing import Any

from agentyard.flows.react import BUILTIN_TOOLS
from agentyard.hyphen import oauth_tools


def listing() -> list[dict[str, Any]]:
    """The built-in tools, in a stable order."""
    out = []
    for name, spec in BUILTIN_TOOLS.items():
        schema = dict(spec["input_schema"])
        if name == "__run_workflow__":
            schema = {
                "type": "object",
                "properties": {
                    "workflow_id": {"type": "string"},
                    "workflow_name": {"type": "string"},
                    "input": {"type": "object"},
                },
                "required": [],
            }
        out.append(
            {
                "name": name,
                "kind": "agent_tool",
                "description": spec["description"],
                "input_schema": schema,
                "oauth_provider": None,
            }
        )
    return out + oauth_tools.listing()
