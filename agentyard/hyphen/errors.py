"""Hyphen's error body: `{"error": "<title>", "message": "...", "details"?: {...}}`.

`error` is a short title fixed per status (the docs show `"Validation failed"`), `message`
the sentence that says what went wrong; `details` only when the error carries some.
"""

from __future__ import annotations

from typing import Any

TITLES = {
    400: "Validation failed",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    408: "Request timeout",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Too many requests",
    500: "Internal server error",
    501: "Not implemented",
    503: "Service unavailable",
}


def title(status: int) -> str:
    """The `error` title of a status."""
    return TITLES.get(status, "Error")


def shape(status: int, code: str, message: str, details: dict[str, Any] | None) -> dict[str, Any]:
    """Render an error as Hyphen documents it."""
    body: dict[str, Any] = {"error": title(status), "message": message}
    if details:
        body["details"] = details
    return body
