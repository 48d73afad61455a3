"""Turn upstream failures (error responses, network trouble) into UpstreamError.

| upstream says                                 | we report                          | retried |
|-----------------------------------------------|------------------------------------|---------|
| 400; OpenAI 422                               | 400 invalid_request_error          | no      |
| 401 / 403 (our configured key was refused)    | 502 api_error, never the caller's  | no      |
| 404 with an error body (e.g. unknown model)   | 404 not_found_error                | no      |
| other 4xx, or 404 without an error body       | 502 api_error (e.g. wrong base URL) | 408 only |
| 413                                           | 413 request_too_large              | no      |
| 429                                           | 429 rate_limit_error + retry_after | yes     |
| 429 spend limit (Anthropic)                   | 429 rate_limit_error               | no      |
| 429 insufficient_quota (OpenAI)               | 502 api_error                      | no      |
| 529; OpenAI 503                               | 529 overloaded_error               | yes     |
| other 5xx with an error body                  | same status and type (api_error)   | yes     |
| 5xx without one                               | 502 api_error                      | yes     |
| connection refused / reset, protocol error    | 502 api_error                      | yes     |
| read / write / pool timeout                   | 504 api_error                      | yes     |
| connect timeout                               | 502 api_error                      | yes     |

Anthropic errors with a body keep their status and type, except 401/403 and odd 4xx such as
402 billing or 409, which concern the gateway's own account: 502 api_error.
`x-should-retry: true|false` from the upstream overrides the "retried" column.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

import httpx

from agentyard.llm.base import ERROR_TYPES, UpstreamError
from agentyard.llm.retry import is_retryable_status, parse_retry_after

_TYPE_FOR_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def type_for_status(status: int) -> str:
    """The Anthropic error type that goes with an HTTP status."""
    if status in _TYPE_FOR_STATUS:
        return _TYPE_FOR_STATUS[status]
    return "invalid_request_error" if 400 <= status < 500 else "api_error"


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return None


def _should_retry(status: int, headers: Mapping[str, str]) -> bool:
    flag = (headers.get("x-should-retry") or "").lower()
    if flag in ("true", "false"):
        return flag == "true"
    return is_retryable_status(status)


def _credentials_refused(provider: str, status: int) -> UpstreamError:
    return UpstreamError(
        502,
        "api_error",
        f"the {provider} upstream refused the gateway's configured credentials "
        f"(HTTP {status}); check the gateway's upstream API key",
        upstream_status=status,
    )


def _unshaped(provider: str, status: int, headers: Mapping[str, str]) -> UpstreamError:
    retryable = _should_retry(status, headers)
    retry_after = parse_retry_after(headers)
    if status in (429, 529, 413):
        return UpstreamError(
            status,
            type_for_status(status),
            f"{provider} upstream answered HTTP {status}",
            retryable=retryable,
            retry_after=retry_after,
            upstream_status=status,
        )
    return UpstreamError(
        502,
        "api_error",
        f"{provider} upstream answered HTTP {status} without an error object",
        retryable=retryable,
        retry_after=retry_after,
        upstream_status=status,
    )


def from_anthropic_response(status: int, body: bytes, headers: Mapping[str, str]) -> UpstreamError:
    """Map an Anthropic error response (`{"type":"error","error":{type,message}}`)."""
    if status in (401, 403):
        return _credentials_refused("anthropic", status)
    data = _json(body)
    err = data.get("error") if isinstance(data, dict) else None
    if not isinstance(err, dict) or not isinstance(err.get("message"), str):
        return _unshaped("anthropic", status, headers)
    retryable = _should_retry(status, headers)
    if 400 <= status < 500 and status not in (400, 404, 413, 429):
        return UpstreamError(
            502,
            "api_error",
            f"anthropic upstream answered HTTP {status}: {err['message']}",
            retryable=retryable,
            upstream_status=status,
        )
    error_type = (
        cast(str, err.get("type")) if err.get("type") in ERROR_TYPES else type_for_status(status)
    )
    details: dict[str, Any] = (
        cast(dict[str, Any], err.get("details")) if isinstance(err.get("details"), dict) else {}
    )
    if details.get("error_code") == "enforced_spend_limit_reached":
        retryable = False
    return UpstreamError(
        status,
        error_type,
        err["message"],
        retryable=retryable,
        retry_after=parse_retry_after(headers),
        upstream_status=status,
    )


def openai_error_message(data: Any) -> tuple[str | None, str | None]:
    """(message, code) from the error bodies OpenAI and compatible servers send."""
    if not isinstance(data, dict):
        return None, None
    err = data.get("error", data)
    if isinstance(err, str):
        return err, None
    if isinstance(err, dict) and isinstance(err.get("message"), str):
        code = err.get("code")
        return err["message"], str(code) if code is not None else err.get("type")
    return None, None


def from_openai_response(status: int, body: bytes, headers: Mapping[str, str]) -> UpstreamError:
    """Map an OpenAI-style error response (`{"error":{message,type,code}}`)."""
    if status in (401, 403):
        return _credentials_refused("openai", status)
    message, code = openai_error_message(_json(body))
    if message is None:
        return _unshaped("openai", status, headers)
    retryable = _should_retry(status, headers)
    retry_after = parse_retry_after(headers)
    if status == 429 and code == "insufficient_quota":
        return UpstreamError(
            502, "api_error", f"openai upstream quota exhausted: {message}", upstream_status=429
        )
    if status in (400, 422):
        reported, error_type = 400, "invalid_request_error"
    elif status in (404, 413, 429):
        reported, error_type = status, type_for_status(status)
    elif status in (503, 529):
        reported, error_type = 529, "overloaded_error"
    elif status >= 500:
        reported, error_type = status, "api_error"
    else:
        reported, error_type = 502, "api_error"
        message = f"openai upstream answered HTTP {status}: {message}"
    return UpstreamError(
        reported,
        error_type,
        message,
        retryable=retryable,
        retry_after=retry_after,
        upstream_status=status,
    )


def from_transport_error(provider: str, exc: httpx.RequestError) -> UpstreamError:
    """Map a network failure: connect problems → 502, timeouts → 504, both retryable."""
    if isinstance(exc, httpx.ConnectTimeout):
        status, what = 502, "timed out connecting to"
    elif isinstance(exc, httpx.TimeoutException):
        status, what = 504, "timed out waiting for"
    elif isinstance(exc, httpx.ConnectError):
        status, what = 502, "could not connect to"
    else:
        status, what = 502, "lost the connection to"
    return UpstreamError(status, "api_error", f"{what} the {provider} upstream", retryable=True)


def bad_upstream(provider: str, detail: str) -> UpstreamError:
    """The upstream answered 2xx but with something we cannot use."""
    return UpstreamError(502, "api_error", f"{provider} upstream sent {detail}")
