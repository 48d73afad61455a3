"""JSON-RPC errors: the codes this surface answers and its error shape.

Every error of the surface is a JSON-RPC 2.0 response `{"jsonrpc": "2.0", "id", "error":
{"code", "message", "data": {"status", "code", "details"?}}}`: `error.code` is the JSON-RPC /
A2A code, `data.code` HASP's error code (e.g. `MISSING_SCOPE`) and `data.status` the HTTP status
it went out with. Errors of the JSON-RPC exchange itself (unknown method, bad params, unknown
task) go out with HTTP 200, as JSON-RPC over HTTP does; errors of the HTTP request (a body that
is not JSON or not a JSON-RPC request, credentials, an unknown agent) keep their HTTP status.
"""

from __future__ import annotations

from typing import Any

from agentyard.core import request_context
from agentyard.hasp.errors import hasp_code

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# A2A (v0.3 §8.2)
TASK_NOT_FOUND = -32001
TASK_NOT_CANCELABLE = -32002
PUSH_NOT_SUPPORTED = -32003
UNSUPPORTED_OPERATION = -32004
CONTENT_TYPE_NOT_SUPPORTED = -32005
VERSION_NOT_SUPPORTED = -32009  # A2A v1.0
# agentyard's (HTTP status in brackets)
UNAUTHORIZED = -32020  # [401] no, unknown or revoked API key
FORBIDDEN = -32021  # [403] a key of another org, or without `workflow:invoke`
AGENT_NOT_FOUND = -32022  # [404] no such org, or no published agent-callable workflow there
RATE_LIMITED = -32029  # [429] the key's requests per minute are spent

_BY_STATUS = {401: UNAUTHORIZED, 403: FORBIDDEN, 404: AGENT_NOT_FOUND, 429: RATE_LIMITED}


class RpcError(Exception):
    """A JSON-RPC error answer (`status`: the HTTP status it goes out with)."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        status: int = 200,
        hasp: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.hasp, self.details = hasp, details


def rpc_code(status: int, message: str) -> int:
    """The JSON-RPC code of an HTTP error."""
    if status == 400 and "not valid JSON" in message:
        return PARSE_ERROR
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return INTERNAL_ERROR if status >= 500 else INVALID_REQUEST


def body(
    request_id: Any, code: int, message: str, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A JSON-RPC error response."""
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def of(exc: RpcError, request_id: Any) -> dict[str, Any]:
    """The response body of `exc` for the request `request_id`."""
    data: dict[str, Any] = {"status": exc.status}
    if exc.hasp:
        data["code"] = exc.hasp
    if exc.details:
        data["details"] = exc.details
    return body(request_id, exc.code, exc.message, data)


def shape(status: int, code: str, message: str, details: dict[str, Any] | None) -> dict[str, Any]:
    """The surface's error shape (core.errors.ErrorShape): a JSON-RPC error, id null."""
    data: dict[str, Any] = {"status": status, "code": hasp_code(status, code, message)}
    if details:
        data["details"] = details
    info = request_context.current()
    if info is not None:
        data["request_id"] = info.request_id
    return body(None, rpc_code(status, message), message, data)
