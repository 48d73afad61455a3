"""/v1/api_keys: create, list, revoke."""

from __future__ import annotations

from typing import Any

from agentyard.hasp import api_keys, envelope
from generated.hasp_ai.models import ApiKeyCreateRequest
from handlers.hasp_ai.security import require


def listApiKeys(cursor: str | None = None, limit: int = 20) -> dict[str, Any]:
    rows, next_cursor, more = api_keys.list_page(require("control:read"), cursor, limit)
    return envelope.page([api_keys.view(k) for k in rows], next_cursor, more)


def createApiKey(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = ApiKeyCreateRequest.model_validate(body)
    key, secret = api_keys.create(require("control:admin"), req.name, list(req.scopes))
    return envelope.ok({**api_keys.view(key), "plaintext": secret}), 201


def revokeApiKey(key_id: str) -> dict[str, Any]:
    return envelope.ok(api_keys.view(api_keys.revoke(require("control:admin"), key_id)))
