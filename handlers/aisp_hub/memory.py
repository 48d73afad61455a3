"""/api/v1/memory: read, write, delete entries of the realm store."""

from __future__ import annotations

from typing import Any

from agentyard.aisp import memory
from generated.aisp_hub.models import MemoryWrite
from handlers.aisp_hub.security import caller


def readMemory(
    namespace: str | None = None, limit: int = 100, after: str | None = None
) -> dict[str, Any]:
    entries = memory.read(caller(), namespace, limit, after)
    return {"entries": [memory.entry_view(e) for e in entries]}


def writeMemory(body: dict[str, Any]) -> dict[str, Any]:
    req = MemoryWrite.model_validate(body)
    keys = memory.write_entries(caller(), [(e.key, e.value) for e in req.entries])
    return {"written": len(keys), "entries": keys}


def deleteMemory(key: str) -> dict[str, Any]:
    memory.delete(caller(), key)
    return {"deleted": True, "key": key}
