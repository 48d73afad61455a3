"""/v1/organization: create (owner context, user API key) and update."""

from __future__ import annotations

from typing import Any

from agentyard.harnesslayer import orgs
from generated.harnesslayer.models import OrganizationCreate, OrganizationUpdate
from handlers.harnesslayer.security import user


def createOrganization(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = OrganizationCreate.model_validate(body)
    org, secret, created = orgs.create(user(), req.name, req.slug, bool(req.returnIfExist))
    data = {**orgs.view(org), "role": "owner"}
    if secret:
        data["apiKey"] = secret
    return {"data": data}, 201 if created else 200


def updateOrganization(organization_id: str, body: dict[str, Any]) -> dict[str, Any]:
    changes = OrganizationUpdate.model_validate(body).model_dump(exclude_unset=True)
    return {"data": orgs.view(orgs.update(user(), organization_id, changes))}
