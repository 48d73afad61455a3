"""A scripted LLM provider for ReAct tests (flows, Hyphen agents): it answers the turns it is
given, in order (the last one repeats), and records every request."""

from __future__ import annotations

import json
from typing import Any

from agentyard.llm.base import message


class Scripted:
    """A provider that answers with scripted JSON turns (and records the requests)."""

    offline = False
    name = "scripted"

    def __init__(self, turns: list[Any]) -> None:
        self.turns = list(turns)
        self.requests: list[dict] = []

    def __call__(self) -> Scripted:
        return self

    async def create(self, request: dict) -> dict:
        self.requests.append(request)
        turn = self.turns.pop(0) if len(self.turns) > 1 else self.turns[0]
        text = turn if isinstance(turn, str) else json.dumps(turn)
        return message(
            id="msg_1", model="m", content=[{"type": "text", "text": text}], stop_reason="end_turn"
        )

    async def aclose(self) -> None:
        pass


def act(action: str, thought: str | None = None, **action_input: Any) -> dict:
    """One ReAct turn: `{thought, action, action_input}`."""
    thought = thought or f"next: {action} {sorted(action_input.items())}"
    return {"thought": thought, "action": action, "action_input": action_input}
