"""/v1/audit: query, signed export, published keys and the timestamp CA."""

from __future__ import annotations

import datetime as dt
from typing import Any

from connexion import request
from starlette.responses import Response

from agentyard.core import audit, clock
from agentyard.core.errors import ApiError
from agentyard.hasp import audit_export, envelope, events
from handlers.hasp_ai.security import require

EPOCH = dt.datetime(1970, 1, 1)


def queryAudit(
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    org = require("control:read").org
    rows, next_cursor = events.audit_page(org, action, entity_type, entity_id, cursor, limit)
    return envelope.page([r.to_api() for r in rows], next_cursor, next_cursor is not None)


def exportAudit(from_: str | None = None, to: str | None = None) -> dict[str, Any]:
    who = require("control:read")
    try:
        end = clock.parse(to) if to else clock.now()
        start = min(clock.parse(from_) if from_ else EPOCH, end)  # `to` before `from`: nothing
    except (ValueError, OverflowError) as exc:
        raise ApiError(400, "VALIDATION_FAILED", f"from/to: {exc}") from exc
    surface_base = str(request.url).split("/v1/audit/export", 1)[0]
    return audit_export.export(who.org, start, end, f"api_key:{who.key.id}", surface_base)


def getAuditKeys() -> dict[str, Any]:
    return audit.published_keys(require("control:read").org)


def getAuditTsaCertificate() -> Response:
    return Response(audit_export.ca_pem(), media_type="application/x-pem-file")
