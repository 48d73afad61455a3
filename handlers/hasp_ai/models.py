"""/v1/models: Anthropic's model listing (agentyard extension)."""

from __future__ import annotations

from typing import Any

from agentyard.core.errors import not_found
from agentyard.hasp import orgs
from agentyard.hasp.ai import catalog
from handlers.hasp_ai.security import require


def listModels(
    limit: int = 20, after_id: str | None = None, before_id: str | None = None
) -> dict[str, Any]:
    who = require("ai:chat")
    models = catalog.available(orgs.settings_of(who.org).opus_enabled)
    ids = [m.id for m in models]
    if after_id is not None:
        models = models[ids.index(after_id) + 1 :] if after_id in ids else []
    elif before_id is not None:
        models = models[: ids.index(before_id)] if before_id in ids else []
        models = models[-limit:]
    page = models[:limit]
    return {
        "data": [catalog.view(m) for m in page],
        "has_more": len(models) > len(page),
        "first_id": page[0].id if page else None,
        "last_id": page[-1].id if page else None,
    }


def getModel(model_id: str) -> dict[str, Any]:
    who = require("ai:chat")
    opus = orgs.settings_of(who.org).opus_enabled
    if model_id not in {m.id for m in catalog.available(opus)}:
        raise not_found("model", message=f"model: {model_id}")
    return catalog.view(catalog.MODELS[model_id])
