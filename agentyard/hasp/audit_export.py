"""The signed audit export (`audit_format`), anchored by an RFC 3161 timestamp, and its CA
certificate."""

from __future__ import annotations

import datetime as dt
import functools
import threading
from typing import Any

from agentyard.config import Settings
from agentyard.core import audit, timestamping
from agentyard.core.errors import ApiError, not_found
from agentyard.core.keys import Tenant
from agentyard.hasp import audit_format

CA_PATH = "/v1/audit/tsa/cacert.pem"
_timestamper: timestamping.Timestamper | None = None
_lock = threading.Lock()


def timestamper() -> timestamping.Timestamper:
    """The process's timestamp authority (AGENTYARD_TSA, default `offline`)."""
    global _timestamper
    with _lock:
        if _timestamper is None:
            _timestamper = timestamping.timestamper_from_env()
        return _timestamper


def ca_url(surface_base: str) -> str:
    """Where verifiers fetch the TSA's CA: AGENTYARD_TSA_CACERT_URL, else this server (https,
    which HASP's verifier requires)."""
    configured = Settings.from_env().tsa_cacert_url
    if configured:
        return configured
    base = surface_base.rstrip("/")
    return ("https://" + base.split("://", 1)[1] if "://" in base else base) + CA_PATH


def export(
    org: Tenant, start: dt.datetime | str, end: dt.datetime | str, by: str, surface_base: str
) -> dict[str, Any]:
    anchor = functools.partial(timestamper().anchor, cacert_url=ca_url(surface_base))
    try:
        return audit_format.export(org, start, end, exported_by=by, timestamp=anchor)
    except audit.AuditError as exc:
        raise ApiError(400, "VALIDATION_FAILED", str(exc)) from exc
    except timestamping.TimestampError as exc:
        raise ApiError(503, "INFERENCE_UNAVAILABLE", f"timestamp authority failed: {exc}") from exc


def ca_pem() -> str:
    try:
        return timestamper().ca_certificate_pem()
    except timestamping.TimestampError as exc:
        raise not_found("timestamp CA certificate", message=str(exc)) from exc
