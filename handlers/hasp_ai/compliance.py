"""/v1/compliance/baa: status, acceptances (list, get, accept) and the signed PDF."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from agentyard.hasp import baa, envelope
from generated.hasp_ai.models import BaaAcceptRequest
from handlers.hasp_ai.security import require


def getBaaStatus() -> dict[str, Any]:
    return envelope.ok(baa.status(require("control:read").org))


def listBaaAcceptances(cursor: str | None = None, limit: int = 20) -> dict[str, Any]:
    rows, next_cursor, more = baa.list_page(require("control:read").org, cursor, limit)
    return envelope.page([baa.view(r) for r in rows], next_cursor, more)


def acceptBaa(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = BaaAcceptRequest.model_validate(body)
    row = baa.accept(require("control:admin"), req.model_dump(mode="json"))
    return envelope.ok(baa.view(row)), 201


def getBaaAcceptance(id_: str) -> dict[str, Any]:
    return envelope.ok(baa.view(baa.find(require("control:read").org, id_)))


def downloadBaaAcceptance(id_: str) -> Response:
    org = require("control:read").org
    row = baa.find(org, id_)
    return Response(
        baa.pdf(org, row),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="baa-{row.id}.pdf"'},
    )
