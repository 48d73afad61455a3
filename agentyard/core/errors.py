"""Errors: one exception for the domain, one error shape per surface, app-wide handlers.

Domain code raises `ApiError(status, code, message)`. Every error response — ours, Connexion's
validation problems, routing 404/405, anything unexpected — is rendered by the error shape of
the surface the request path belongs to (`register_shape(prefix, shape)`).

A shape may also choose the status and code an error is answered with (a surface that reports
request-validation failures as 422, say): register a `RemappingShape`, whose `remap(status,
code, message)` returns the `(status, code)` to answer with. It applies to every error the app's
handlers render; the body guard (`core.http_guard`), which answers before any handler runs,
keeps the status it chose.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from starlette.exceptions import HTTPException

from agentyard.core import routes

if TYPE_CHECKING:  # Connexion is imported by the app, not by every CLI command (~0.4 s)
    from connexion.lifecycle import ConnexionRequest, ConnexionResponse

log = logging.getLogger("agentyard.errors")

ErrorShape = Callable[[int, str, str, dict[str, Any] | None], dict[str, Any]]
StatusRemap = Callable[[int, str, str], tuple[int, str]]

DEFAULT_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "timeout",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable_entity",
    426: "upgrade_required",
    429: "rate_limited",
    500: "internal_error",
    501: "not_implemented",
    503: "unavailable",
}


class ApiError(Exception):
    """An error the API reports to the caller as `status` with a stable `code`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.status_code = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


def not_implemented(operation_id: str) -> ApiError:
    """The 501 a scaffolded handler raises until someone writes it (see codegen.py)."""
    return ApiError(501, DEFAULT_CODES[501], f"{operation_id} is not implemented yet")


# --- the error vocabulary ---------------------------------------------------------------------
# Domain code says what went wrong with these; each raises nothing itself but returns the
# ApiError to raise. They carry agentyard's generic codes (DEFAULT_CODES), which each surface's
# error shape maps to the codes it documents (HASP: RESOURCE_NOT_FOUND, Harnesslayer:
# bad_request, ...). A surface whose documented code cannot be told from the status alone
# (AISP's `session_not_found`, `grant_not_found`) passes it as `code`.


def not_found(
    what: str,
    ref: object = None,
    *,
    message: str | None = None,
    code: str = DEFAULT_CODES[404],
    details: dict[str, Any] | None = None,
) -> ApiError:
    """404: `No {what} {ref}` (or `message`). Another tenant's object is not found too."""
    if message is None:
        message = f"No {what} {ref}" if ref is not None else f"No such {what}"
    return ApiError(404, code, message, details)


def conflict(
    message: str, *, code: str = DEFAULT_CODES[409], details: dict[str, Any] | None = None
) -> ApiError:
    """409: the request clashes with the current state (a name taken, a wrong version...)."""
    return ApiError(409, code, message, details)


def forbidden(
    message: str, *, code: str = DEFAULT_CODES[403], details: dict[str, Any] | None = None
) -> ApiError:
    """403: the caller is known but may not do this (a missing scope, grant or opt-in)."""
    return ApiError(403, code, message, details)


def invalid(
    message: str, *, code: str = DEFAULT_CODES[400], details: dict[str, Any] | None = None
) -> ApiError:
    """400: input the schema let through but the rules refuse."""
    return ApiError(400, code, message, details)


def unauthorized(
    message: str = "Missing or invalid API key", *, code: str = DEFAULT_CODES[401]
) -> ApiError:
    """401: no credential, or one that names no live caller."""
    return ApiError(401, code, message)


def default_shape(
    status: int, code: str, message: str, details: dict[str, Any] | None
) -> dict[str, Any]:
    """The shape used outside any surface: `{"error": {"code", "message"}}`."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return {"error": body}


class RemappingShape:
    """An error shape that also picks the status and code of the errors it renders."""

    def __init__(self, shape: ErrorShape, remap: StatusRemap) -> None:
        self.shape = shape
        self.remap = remap

    def __call__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None
    ) -> dict[str, Any]:
        return self.shape(status, code, message, details)


_SHAPES: list[tuple[str, ErrorShape]] = []


def register_shape(prefix: str, shape: ErrorShape) -> None:
    """Use `shape` for every error under the path `prefix` ("" matches everything)."""
    _SHAPES[:] = [(p, s) for p, s in _SHAPES if p != prefix]
    _SHAPES.append((prefix, shape))
    _SHAPES.sort(key=lambda item: len(item[0]), reverse=True)


def shape_for(path: str) -> ErrorShape:
    """The error shape of the surface that serves `path`."""
    for prefix, shape in _SHAPES:
        if prefix == "" or path == prefix or path.startswith(prefix + "/"):
            return shape
    return default_shape


def resolve(path: str, status: int, code: str | None, message: str) -> tuple[int, str | None]:
    """The (status, code) an error on `path` is answered with: its own, unless the path's
    shape is a `RemappingShape` that picks others."""
    shape = shape_for(path)
    if isinstance(shape, RemappingShape):
        return shape.remap(status, code or DEFAULT_CODES.get(status, "error"), message)
    return status, code


def render(
    path: str,
    status: int,
    code: str | None,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Body bytes and headers of an error response for a request to `path`. A U+0000 the
    message quotes from the request (a validation message naming a key) is written as the text
    `\\u0000`: no published string holds NUL, error messages included."""
    shape = shape_for(path)
    message = message.replace("\x00", "\\u0000")
    body = shape(status, code or DEFAULT_CODES.get(status, "error"), message, details)
    out = {"content-type": "application/json"}
    out.update(headers or {})
    return json.dumps(body).encode(), out


def _response(
    request: ConnexionRequest, status: int, code: str | None, message: str, **kw: Any
) -> ConnexionResponse:
    status, code = resolve(request.url.path, status, code, message)
    body, headers = render(request.url.path, status, code, message, **kw)
    headers.pop("content-type")
    from connexion.lifecycle import ConnexionResponse

    return ConnexionResponse(
        status_code=status, body=body, headers=headers, mimetype="application/json"
    )


def api_error_handler(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Render an `ApiError`."""
    assert isinstance(exc, ApiError)
    return _response(
        request, exc.status, exc.code, exc.message, details=exc.details, headers=exc.headers
    )


# jsonschema messages that start with the whole offending object or array (its repr), e.g.
# "{'url': ..., 'secret': ...} is not valid under any of the given schemas - 'body'".
_WHOLE_VALUE = re.compile(
    r"^(?:\{.*\}|\[.*\]) (?=is not |should not |is too |does not |has )", re.S
)


def validation_detail(detail: str) -> str:
    """A validation message without the repr of a whole object or array it may start with:
    such a value can hold the request's secrets, and the caller sent it anyway."""
    return _WHOLE_VALUE.sub("the value ", detail, count=1)


def http_error_handler(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Render Connexion problems and Starlette HTTP exceptions (validation, 401, 404, 405...)."""
    status = int(cast(Any, getattr(exc, "status_code", None) or getattr(exc, "status", 500)))
    detail = getattr(exc, "detail", None) or getattr(exc, "title", None) or ""
    if status == 404 and not detail.strip(" .") or detail == "Not Found":
        detail = f"No such endpoint: {request.method} {request.url.path}"
    headers = dict(getattr(exc, "headers", None) or {})
    methods = routes.allowed(request.url.path)
    if status == 404 and methods and request.method not in methods:
        status = 405  # a route beside the spec's paths, reached with another method
    if status == 405:
        detail = f"Method {request.method} is not allowed on {request.url.path}"
        if methods:
            headers = {k: v for k, v in headers.items() if k.lower() != "allow"}
            headers["Allow"] = ", ".join(methods)
    return _response(request, status, None, validation_detail(str(detail)), headers=headers)


def model_error_handler(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """A body the generated pydantic models refuse (rules beyond the JSON Schema): 400."""
    errors: list[Any] = getattr(exc, "errors", lambda: [])()
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    message = f"{where}: {first.get('msg', 'invalid value')}" if where else str(exc)
    return _response(request, 400, None, message)


def unexpected_error_handler(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Anything unforeseen: log it, answer 500 in the surface's shape, leak nothing."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _response(request, 500, None, "Internal server error")


def install(app: Any) -> None:
    """Register the handlers on a Connexion app."""
    from connexion.exceptions import ProblemException
    from pydantic import ValidationError

    app.add_error_handler(ApiError, api_error_handler)
    app.add_error_handler(ProblemException, http_error_handler)
    app.add_error_handler(HTTPException, http_error_handler)
    app.add_error_handler(ValidationError, model_error_handler)
    app.add_error_handler(Exception, unexpected_error_handler)
