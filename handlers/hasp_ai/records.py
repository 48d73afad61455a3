"""/v1/ai/messages/{id}: the stored record of an inference."""

from __future__ import annotations

from typing import Any

from agentyard.hasp import envelope
from agentyard.hasp.ai import records
from handlers.hasp_ai.security import require


def getInferenceRecord(id_: str) -> dict[str, Any]:
    return envelope.ok(records.view(records.find(require("ai:chat").org, id_)))
