"""Harnesslayer's error body: `{"error": {"code", "message", "details"}}` with its own codes."""

from __future__ import annotations

from typing import Any

from agentyard.core.errors import DEFAULT_CODES, default_shape

# The codes the spec documents where agentyard's generic ones differ.
CODES = {"invalid_request": "bad_request", "unprocessable_entity": "bad_request"}
BY_STATUS = {410: "gone"}


def shape(status: int, code: str, message: str, details: dict[str, Any] | None) -> dict[str, Any]:
    if code == DEFAULT_CODES.get(status) or code in CODES:
        code = BY_STATUS.get(status, CODES.get(code, code))
    return default_shape(status, code, message, details)
