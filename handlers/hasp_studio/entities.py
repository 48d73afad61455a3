"""/api/internal/entities/{entity_id}: an entity's schema; change (migrating records), delete."""

from __future__ import annotations

from typing import Any

from agentyard.hasp import envelope
from agentyard.hasp.studio import entities
from generated.hasp_studio.models import EntityUpdate
from handlers.hasp_studio.security import current_member


def get_entity(entity_id: str) -> dict[str, Any]:
    entity = entities.get(current_member(), entity_id)
    return envelope.ok(entities.view(entity, entities.count_records(entity)))


def update_entity(entity_id: str, body: dict[str, Any]) -> dict[str, Any]:
    changes = EntityUpdate.model_validate(body).model_dump(exclude_unset=True, mode="json")
    entity = entities.update(current_member(), entity_id, changes)
    return envelope.ok(entities.view(entity, entities.count_records(entity)))


def delete_entity(entity_id: str, force: bool = False) -> dict[str, Any]:
    entity, count = entities.delete(current_member(), entity_id, bool(force))
    return envelope.ok({**entities.view(entity, 0), "records_deleted": count})
