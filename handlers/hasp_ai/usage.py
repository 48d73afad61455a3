"""/v1/usage and /v1/usage/budget."""

from __future__ import annotations

from typing import Any

from agentyard.hasp import envelope, events
from agentyard.hasp.ai import credits
from generated.hasp_ai.models import BudgetUpdateRequest
from handlers.hasp_ai.security import require


def getUsage() -> dict[str, Any]:
    return envelope.ok(credits.usage(require("control:read").org))


def getBudget() -> dict[str, Any]:
    return envelope.ok(credits.budget(require("control:read").org))


def updateBudget(body: dict[str, Any]) -> dict[str, Any]:
    req = BudgetUpdateRequest.model_validate(body)
    who = require("control:read")
    credits.set_cap(who.org, req.spend_cap)
    events.emit(who, "budget.updated", "budget", who.org.id, {"spend_cap": req.spend_cap})
    return envelope.ok(credits.budget(who.org))
