"""Who is calling the HASP AI API: an organization's API key and its scopes."""

from __future__ import annotations

import math

from agentyard.core import keys, runtime
from agentyard.core.errors import ApiError
from agentyard.core.keys import ApiKey, Tenant
from agentyard.core.ratelimit import Window
from agentyard.hasp import SURFACE, events
from agentyard.hasp.caller import Caller

# `workflow:invoke`: calling the org's published agent-callable workflows over A2A (hasp-runtime).
SCOPES = ("ai:chat", "control:read", "control:webhooks", "control:admin", "workflow:invoke")
KEY_FORMATS = ("wa_live_", "hasp_key_live_")


def new_secret() -> str:
    """A new key: `wa_live_<32 hex>`."""
    return keys.random_secret("wa_live_")


def invalid_key(message: str = "Missing or invalid API key") -> ApiError:
    return ApiError(401, "INVALID_API_KEY", message)


def authenticate(secret: str) -> Caller:
    """The caller a key secret belongs to; 401 for a missing, unknown or revoked key.

    Keys are looked up in the store on every request, so a revocation is seen at once by
    every worker.
    """
    if not secret or not secret.startswith(KEY_FORMATS):
        raise invalid_key()
    key = keys.lookup(SURFACE, secret)
    if key is None:
        revoked = ApiKey.get_or_none(
            (ApiKey.digest == keys.digest(secret)) & (ApiKey.surface == SURFACE)
        )
        if revoked is not None:  # a known org: the failure goes into its audit log
            _audit_failure(revoked.tenant, "auth.failed", revoked.id, {"reason": "key_revoked"})
        raise invalid_key()
    keys.touch(key)
    return Caller(key.tenant, key)


def _audit_failure(org: Tenant, action: str, key_id: str, metadata: dict[str, str]) -> None:
    events.audit(org, action, "api_key", key_id, metadata, key_id=key_id)


def require_scope(caller: Caller, scope: str) -> None:
    """403 MISSING_SCOPE unless the caller's key has `scope`."""
    if scope not in caller.scopes:
        _audit_failure(
            caller.org, "auth.denied", caller.key.id, {"reason": "missing_scope", "scope": scope}
        )
        raise ApiError(
            403,
            "MISSING_SCOPE",
            f"This API key lacks the {scope} scope",
            details={"required_scope": scope},
        )


def _rate_limit_headers(window: Window) -> dict[str, str]:
    return {
        "X-RateLimit-Limit-Requests": str(window.per_minute),
        "X-RateLimit-Remaining-Requests": str(window.remaining),
        "X-RateLimit-Reset-Requests": str(math.ceil(window.reset)),
    }


def rate_limit(caller: Caller) -> dict[str, str]:
    """Count one request of the key; the rate-limit headers, or 429 RATE_LIMITED."""
    per_minute = runtime.settings().hasp_requests_per_minute
    return runtime.limiter().enforce(
        per_minute,
        SURFACE,
        caller.key.id,
        code="RATE_LIMITED",
        headers=_rate_limit_headers,
        retry_details=True,
    )
