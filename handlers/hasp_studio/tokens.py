"""/api/internal/auth/tokens: the member's personal access tokens."""

from __future__ import annotations

from typing import Any

from agentyard.hasp import envelope
from agentyard.hasp.studio import tokens
from generated.hasp_studio.models import TokenCreate
from handlers.hasp_studio.security import current_member


def list_tokens(cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
    rows, next_cursor, more = tokens.list_page(current_member(), cursor, limit)
    return envelope.page([tokens.view(t) for t in rows], next_cursor, more)


def create_token(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = TokenCreate.model_validate(body)
    token, secret = tokens.create(current_member(), req.name, req.expires_in_days)
    return envelope.ok({**tokens.view(token), "token": secret}), 201


def revoke_token(token_id: str) -> dict[str, Any]:
    return envelope.ok(tokens.view(tokens.revoke(current_member(), token_id)))
