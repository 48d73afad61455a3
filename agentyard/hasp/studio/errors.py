"""HASP Studio's error bodies: HASP's envelope (`agentyard.hasp.errors`), validation failures
as 422, and `UNAUTHENTICATED` for a request without a valid session or token."""

from __future__ import annotations

from typing import Any

from agentyard.core.errors import ApiError, RemappingShape
from agentyard.hasp import errors


def envelope(
    status: int, code: str, message: str, details: dict[str, Any] | None
) -> dict[str, Any]:
    """HASP's error envelope; a generic 401 is `UNAUTHENTICATED` (Studio has no API keys)."""
    if status == 401 and not (code and code.isupper()):
        code = "UNAUTHENTICATED"
    return errors.hasp_envelope(status, code, message, details)


shape = RemappingShape(envelope, errors.remap)


def unauthenticated(message: str = "Sign in or send a personal access token") -> ApiError:
    return ApiError(401, "UNAUTHENTICATED", message)


def invalid(message: str, param: str | None = None) -> ApiError:
    """422 VALIDATION_FAILED (a rule the schema cannot state)."""
    return ApiError(422, "VALIDATION_FAILED", message, details={"param": param} if param else None)


def conflict(message: str, code: str = "CONFLICT") -> ApiError:
    return ApiError(409, code, message)
