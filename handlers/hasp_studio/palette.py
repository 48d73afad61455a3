"""/api/internal/palette: query and execute."""

from __future__ import annotations

from typing import Any

from agentyard.hasp import envelope
from agentyard.hasp.studio import palette
from generated.hasp_studio.models import PaletteExecute, PaletteQuery
from handlers.hasp_studio.security import current_member


def palette_query(body: dict[str, Any]) -> dict[str, Any]:
    req = PaletteQuery.model_validate(body)
    return envelope.ok(palette.query(current_member(), req.query, req.limit or 20))


def palette_execute(body: dict[str, Any]) -> dict[str, Any]:
    req = PaletteExecute.model_validate(body)
    return envelope.ok(palette.execute(current_member(), req.command, dict(req.args or {})))
