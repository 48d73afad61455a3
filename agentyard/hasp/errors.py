"""HASP AI error bodies: HASP's envelope, and Anthropic's error object on the compat endpoints.

Domain code raises `ApiError(status, "<HASP CODE>", message, details)`; errors raised elsewhere
(validation, routing, the body guard) carry agentyard's generic lower-case codes, which are
mapped to HASP's codes here. The request id comes from the request context.

HASP documents 422 `VALIDATION_FAILED` for its control endpoints and Anthropic's 400
`invalid_request_error` for the Anthropic-compatible ones. So on every route answering in HASP's
envelope (all but `/v1/messages` and `/v1/models`, which use `anthropic_shape`), a request that
fails validation — the spec's schemas, the models' rules, or the domain's own checks — is
answered 422 `VALIDATION_FAILED` (see `remap`). A body that is not JSON at all is refused by the
body guard before any handler runs and stays 400.
"""

from __future__ import annotations

from typing import Any

from agentyard.core import request_context
from agentyard.core.errors import RemappingShape

HASP_CODES = {
    400: "VALIDATION_FAILED",
    401: "INVALID_API_KEY",
    402: "BAA_REQUIRED",
    403: "FORBIDDEN",
    404: "RESOURCE_NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_FAILED",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    501: "NOT_IMPLEMENTED",
    502: "INFERENCE_UPSTREAM_FAILURE",
    503: "INFERENCE_UNAVAILABLE",
    504: "INFERENCE_UPSTREAM_FAILURE",
}

# Anthropic's error type for each status (https://docs.anthropic.com/en/api/errors).
ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    406: "invalid_request_error",
    409: "invalid_request_error",
    413: "request_too_large",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    501: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}

RETRYABLE = {429, 500, 502, 503, 504, 529}
DOCS = "https://docs.usehasp.com/ai-api/reference/errors"


def hasp_code(status: int, code: str, message: str) -> str:
    """HASP's code for an error: the domain's own, or the one for the generic status."""
    if code and code.isupper():
        return code
    if status == 400 and "Additional properties are not allowed" in message:
        return "UNSUPPORTED_PARAMETER"
    return HASP_CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "VALIDATION_FAILED")


def _request_id() -> str:
    info = request_context.current()
    return info.request_id if info else ""


def remap(status: int, code: str, message: str) -> tuple[int, str]:
    """A request-validation failure (400 `VALIDATION_FAILED` or `UNSUPPORTED_PARAMETER`) is
    422 `VALIDATION_FAILED` in HASP's envelope; every other error keeps its status and code."""
    if status == 400 and hasp_code(status, code, message) in (
        "VALIDATION_FAILED",
        "UNSUPPORTED_PARAMETER",
    ):
        return 422, "VALIDATION_FAILED"
    return status, code


def hasp_envelope(
    status: int, code: str, message: str, details: dict[str, Any] | None
) -> dict[str, Any]:
    """`{"success": false, "error": {...}, "meta": {"request_id"}}`."""
    request_id = _request_id()
    return {
        "success": False,
        "error": {
            "code": hasp_code(status, code, message),
            "type": ANTHROPIC_TYPES.get(status, "api_error"),
            "message": message,
            "param": (details or {}).get("param"),
            "details": details or None,
            "retryable": status in RETRYABLE,
            "request_id": request_id,
            "docs_hint": DOCS,
        },
        "meta": {"request_id": request_id},
    }


# The shape of the control and native endpoints: HASP's envelope, validation failures as 422.
hasp_shape = RemappingShape(hasp_envelope, remap)


def anthropic_shape(
    status: int, code: str, message: str, details: dict[str, Any] | None
) -> dict[str, Any]:
    """Anthropic's `{"type": "error", "error": {"type", "message"}}`, plus HASP's code."""
    error: dict[str, Any] = {
        "type": ANTHROPIC_TYPES.get(status, "api_error"),
        "message": message,
        "code": hasp_code(status, code, message),
    }
    if details:
        error["details"] = details
    return {"type": "error", "error": error, "request_id": _request_id()}
